"""Bazarr's Whisper provider against the service, in its own request shapes, with the real model on real speech.

Bazarr (``subliminal_patch/providers/whisperai.py``) extracts the audio itself as raw 16 kHz mono s16le PCM,
then posts it as the ``audio_file`` field (file name ``audio_file``, no content type, no auth header) to
``/detect-language?encode=false`` and ``/asr?task=..&language=..&output=srt&encode=false``; after its read
timeout it asks again. Its endpoint here carries the token in the path: ``http://host:port/t/<token>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pysrt
import pytest
from conftest import reference_text

from subgen.evaluate.rates import error_rates
from tests.service.harness import Server, start_server
from tests.service.media import pcm

pytestmark = pytest.mark.model
TOKEN = "bazarr-endpoint-token"
HARVARD = "en_osr_us_000_0011_harvard_list02"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("bazarr") / "state", fake=False, model="tiny.en", token=TOKEN)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def bazarr(server: Server) -> Iterator[httpx.Client]:
    """A session as Bazarr's provider has it: its User-Agent, the endpoint with the token, no auth header."""
    with httpx.Client(base_url=f"{server.url}/t/{TOKEN}", headers={"User-Agent": "Subliminal/2.1.0"}) as session:
        yield session


def _audio_file(out: bytes) -> dict:
    return {"audio_file": ("audio_file", out)}  # what requests sends for files={"audio_file": out}


def test_bazarr_detects_the_language_then_gets_srt_from_raw_pcm(bazarr, server, corpus):
    out = pcm(corpus / "en_jfk_inaugural_excerpt.flac")
    detected = bazarr.post("/detect-language", params={"encode": "false"}, files=_audio_file(out), timeout=120)
    assert detected.status_code == 200, detected.text
    assert detected.json() == {"detected_language": "english", "language_code": "en", "confidence": 1.0}
    params = {"task": "transcribe", "language": "en", "output": "srt", "encode": "false"}
    response = bazarr.post("/asr", params=params, files=_audio_file(out), timeout=300)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="audio_file.srt"'
    cues = pysrt.from_string(response.content.decode("utf-8"))
    assert len(cues) >= 2 and cues[0].start.ordinal < cues[-1].end.ordinal <= 11_100
    text = " ".join(cue.text for cue in cues)
    assert error_rates([reference_text(corpus, "en_jfk_inaugural_excerpt")], [text]).wer < 0.1, text
    assert all(f"/t/{TOKEN}" not in line for line in server.log_lines()), "the path token is kept out of the log"


def test_a_retry_after_a_read_timeout_joins_the_first_request(bazarr, server, corpus):
    out = pcm(corpus / f"{HARVARD}.wav")
    params = {"task": "transcribe", "language": "en", "output": "srt", "encode": "false"}

    def ask(read_timeout: float) -> httpx.Response | None:
        try:
            timeout = httpx.Timeout(300, read=read_timeout)
            return bazarr.post("/asr", params=params, files=_audio_file(out), timeout=timeout)
        except httpx.ReadTimeout:
            return None  # Bazarr gives up waiting here and asks again later

    with ThreadPoolExecutor(3) as pool:
        impatient = pool.submit(ask, 0.2)
        answers = [pool.submit(ask, 300) for _ in range(2)]
        impatient.result()
        responses = [a.result() for a in answers]
    assert all(r is not None and r.status_code == 200 for r in responses)
    assert responses[0].content == responses[1].content  # type: ignore[union-attr]
    job_ids = {r.headers["X-Subgen-Job"] for r in responses}  # type: ignore[union-attr]
    assert len(job_ids) == 1
    with server.client() as client:
        job = client.get(f"/v1/jobs/{job_ids.pop()}").json()
        same_audio = [j for j in client.get("/v1/jobs").json()["data"] if j["source"] == "audio_file.wav"]
    assert job["decodes"] == 1 and job["origin"] == "asr"
    assert len([j for j in same_audio if j["audio_seconds"] == job["audio_seconds"]]) == 1, "one job, one decode"


def test_every_asr_output_from_an_encoded_upload(bazarr, corpus):
    audio = corpus / "en_librispeech_1089-134686-0000.flac"
    files = {"audio_file": (audio.name, audio.read_bytes())}
    bodies = {}
    for output in ("txt", "vtt", "srt", "tsv", "json"):
        params = {"task": "transcribe", "output": output, "word_timestamps": "true", "initial_prompt": "Stew."}
        response = bazarr.post("/asr", params=params, files=files, timeout=300)
        assert response.status_code == 200 and response.headers["asr-engine"] == "subgen", response.text
        bodies[output] = response.text
    reference = reference_text(corpus, audio.stem)
    assert error_rates([reference], [bodies["txt"]]).wer < 0.2, bodies["txt"]
    assert bodies["vtt"].startswith("WEBVTT") and bodies["tsv"].startswith("start\tend\ttext\n")
    rows = [line.split("\t") for line in bodies["tsv"].splitlines()[1:]]
    assert all(int(start) < int(end) for start, end, _ in rows) and len(rows) == len(pysrt.from_string(bodies["srt"]))
    result = json.loads(bodies["json"])
    assert result["language"] == "en" and error_rates([reference], [result["text"]]).wer < 0.2
    words = [w for segment in result["segments"] for w in segment["words"]]
    assert words and all({"word", "start", "end", "probability"} <= set(w) for w in words)
    refused = bazarr.post("/asr", params={"output": "docx"}, files=files)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "output"
