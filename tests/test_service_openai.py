"""The official ``openai`` package (a client we did not write) against the service, with the real bundled model on
real speech: every response format, word timestamps, translations, and OpenAI's errors as its exceptions."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pysrt
import pytest
from conftest import reference_text

from subgen.evaluate.rates import error_rates
from tests.service.harness import Server, start_server

pytestmark = pytest.mark.model
TOKEN = "openai-compatible-token"
JFK = "en_jfk_inaugural_excerpt"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("openai") / "state", fake=False, model="tiny.en", token=TOKEN)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: Server):
    import openai

    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=TOKEN, max_retries=0, timeout=300)


def _wer(corpus: Path, stem: str, text: str) -> float:
    return error_rates([reference_text(corpus, stem)], [text]).wer


def test_json_text_srt_and_vtt_come_from_one_decode(client, server, corpus):
    audio = corpus / f"{JFK}.flac"
    raw = client.audio.transcriptions.with_raw_response.create(model="whisper-1", file=audio, language="en")
    result = raw.parse()
    assert _wer(corpus, JFK, result.text) < 0.1, result.text
    text = client.audio.transcriptions.create(model="whisper-1", file=audio, language="en", response_format="text")
    assert isinstance(text, str) and text.strip() == result.text
    srt = client.audio.transcriptions.create(model="whisper-1", file=audio, language="en", response_format="srt")
    cues = pysrt.from_string(srt)
    assert len(cues) >= 2 and all(len(line) <= 42 for cue in cues for line in cue.text.splitlines()), srt
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues)), "readable cues, in order"
    assert _wer(corpus, JFK, " ".join(cue.text for cue in cues)) < 0.1
    vtt = client.audio.transcriptions.create(model="tiny.en", file=audio, language="en", response_format="vtt")
    assert vtt.startswith("WEBVTT\n") and vtt.count(" --> ") == len(cues)
    job_id = raw.headers["X-Subgen-Job"]
    with server.client() as http:
        job = http.get(f"/v1/jobs/{job_id}").json()
        jobs = http.get("/v1/jobs").json()["data"]
    assert job["decodes"] == 1 and job["origin"] == "openai"
    assert [j["id"] for j in jobs if j["source"] == audio.name] == [job_id], "four formats, one job"


def test_verbose_json_has_segments_and_word_timestamps(client, corpus):
    audio = corpus / "en_librispeech_1089-134686-0000.flac"
    result = client.audio.transcriptions.create(
        model="whisper-1", file=audio, response_format="verbose_json", timestamp_granularities=["word", "segment"]
    )
    assert result.language == "english" and result.duration == pytest.approx(10.44, abs=0.05)
    assert _wer(corpus, audio.stem, result.text) < 0.2, result.text
    assert result.segments and result.segments[0].id == 0
    assert all(0 <= s.start < s.end <= result.duration + 0.01 for s in result.segments)
    words = result.words or []
    assert abs(len(words) - len(reference_text(corpus, audio.stem).split())) <= 3
    assert all(0 <= w.start <= w.end <= result.duration + 0.01 for w in words)
    assert all(a.start <= b.start for a, b in itertools.pairwise(words))
    only_words = client.audio.transcriptions.create(
        model="whisper-1", file=audio, response_format="verbose_json", timestamp_granularities=["word"]
    )
    assert only_words.segments is None and [w.word for w in only_words.words or []] == [w.word for w in words]


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # openai marks translations deprecated
def test_errors_arrive_as_the_clients_own_exceptions(client, server, corpus):
    import openai

    audio = corpus / f"{JFK}.flac"
    with pytest.raises(openai.BadRequestError) as unknown:
        client.audio.transcriptions.create(model="gpt-9-transcribe", file=audio)
    assert unknown.value.status_code == 400 and unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as english_only:
        client.audio.translations.create(model="whisper-1", file=audio)
    assert "English-only" in english_only.value.message
    with pytest.raises(openai.BadRequestError) as bad_format:
        client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="docx")  # type: ignore[arg-type]
    assert bad_format.value.param == "response_format"
    with pytest.raises(openai.BadRequestError) as not_media:
        client.audio.transcriptions.create(model="whisper-1", file=("notes.mp3", b"plain text, not audio"))
    assert not_media.value.code == "invalid_media" and "notes.mp3" in not_media.value.message
    stranger = openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-the-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        stranger.audio.transcriptions.create(model="whisper-1", file=audio)


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")
def test_translations_turn_german_speech_into_english(corpus, tmp_path):
    import openai

    server = start_server(tmp_path / "state", fake=False, model="base")
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=300)
        audio = corpus / "de_fleurs_000.ogg"
        text = client.audio.translations.create(model="whisper-1", file=audio, response_format="text")
        verbose = client.audio.translations.create(model="base", file=audio, response_format="verbose_json")
    finally:
        server.stop()
    lowered = text.lower()
    assert "hong kong" in lowered and "island" in lowered, text  # "für die besten Aussichten auf Hongkong ..."
    assert verbose.task == "translate" and verbose.language == "english" and verbose.text.strip() == text.strip()
