"""The faster-whisper (CTranslate2) engine: bundled models loaded as they are, batched windows on real speech."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from subgen.asr.models import ModelSource, resolve
from subgen.audio.media import SAMPLE_RATE, extract_audio
from subgen.core.errors import EngineError
from subgen.core.options import TranscribeOptions
from subgen.evaluate.rates import error_rates
from subgen.subtitles.io import read_text

STEMS = ("en_jfk_inaugural_excerpt", "en_ljspeech_LJ001-0004", "en_librispeech_1089-134691-0001")
OPTIONS = TranscribeOptions(model="tiny.en")


@pytest.fixture(scope="module")
def engine():
    from subgen.asr.engines.faster_whisper import FasterWhisperEngine

    return FasterWhisperEngine(resolve("tiny.en"), "cpu")


@pytest.fixture(scope="module")
def windows(corpus) -> list[tuple[np.ndarray, str]]:
    return [(extract_audio(corpus / f"{s}.flac").samples, read_text(corpus / f"{s}.txt")) for s in STEMS]


def _text(segments) -> str:
    return "".join(s.text for s in segments)


def test_cpu_defaults_are_int8_a_batch_of_four_and_two_decoders(engine):
    from subgen.asr.engines.faster_whisper import cpu_cores

    assert (engine.device, engine.compute_type, engine.batch_size) == ("cpu", "int8", 4)
    assert engine.workers == min(2, cpu_cores()) and len(engine._pipelines) == engine.workers
    assert engine.detect_language(np.zeros(SAMPLE_RATE, dtype=np.float32)) == "en", "tiny.en is English-only"
    assert engine.language_probability(np.zeros(SAMPLE_RATE, dtype=np.float32)) == ("en", 1.0)


def test_a_batch_of_real_windows_decodes_each_with_timed_words(engine, windows):
    results = engine.decode_windows([w for w, _ in windows], OPTIONS, "en")
    assert len(results) == len(windows)
    for (audio, reference), segments in zip(windows, results, strict=True):
        assert error_rates([reference], [_text(segments)]).wer < 0.2, _text(segments)
        words = [w for s in segments for w in s.words]
        assert words and all(0 <= w.start <= w.end <= len(audio) / SAMPLE_RATE + 0.05 for w in words)
        assert all(a.start <= b.start for a, b in itertools.pairwise(words))


def test_encoder_frames_cover_the_window_and_a_tail_between_10_and_30_s(engine):
    from subgen.asr.engines.faster_whisper import encoder_frames

    assert encoder_frames(11.0) == encoder_frames(10.2) == 1100 + 300, "rounded up to the second, 3 s of tail"
    assert encoder_frames(0.4) == encoder_frames(6.9) == 1000, "never less than 10 s"
    assert encoder_frames(26.9) == encoder_frames(29.5) == 3000, "never more than Whisper's 30 s"
    assert engine.encoder_seconds(11.0) == 14.0


def test_short_windows_are_encoded_at_their_length_not_30_s(engine, windows, monkeypatch):
    encode = engine._model.encode
    shapes = []

    def spy(features, *args, **kwargs):
        shapes.append(tuple(features.shape))
        return encode(features, *args, **kwargs)

    monkeypatch.setattr(engine._model, "encode", spy)
    monkeypatch.setattr(engine, "workers", 1)
    audio = [w for w, _ in windows]
    results = engine.decode_windows(audio, OPTIONS, "en")
    longest = max(len(a) for a in audio) / SAMPLE_RATE
    assert shapes == [(len(audio), 80, int(np.ceil(longest)) * 100 + 300)], "one encode, at the longest window"
    for (clip, reference), segments in zip(windows, results, strict=True):
        assert error_rates([reference], [_text(segments)]).wer < 0.2, _text(segments)
        assert max(w.end for s in segments for w in s.words) <= len(clip) / SAMPLE_RATE + 0.05


def test_a_batch_is_split_between_the_decoders_and_comes_back_in_window_order(engine, windows, monkeypatch):
    import threading

    if engine.workers < 2:
        pytest.skip("one CPU core: a single decoder")
    forward = engine._forward
    calls = []

    def spy(pipeline, part, *args):
        calls.append((threading.current_thread().name, len(part), pipeline))
        return forward(pipeline, part, *args)

    audio = [w for w, _ in windows]
    with monkeypatch.context() as one_decoder:
        one_decoder.setattr(engine, "workers", 1)
        whole = engine.decode_windows(audio, OPTIONS, "en")
    monkeypatch.setattr(engine, "_forward", spy)
    split = engine.decode_windows(audio, OPTIONS, "en")
    assert sorted(n for _, n, _ in calls) == [1, 2], "3 windows: 2 on one decoder, 1 on the other"
    assert len({name for name, _, _ in calls}) == 2 and len({id(p) for _, _, p in calls}) == 2
    for (_, reference), one, parted in zip(windows, whole, split, strict=True):
        assert _text(parted) == _text(one), "each window's result is its own, in input order"
        assert error_rates([reference], [_text(parted)]).wer < 0.2


def test_the_cpu_layout_gives_each_decoder_a_share_of_the_cores():
    from subgen.asr.engines.faster_whisper import cpu_layout, split_evenly

    assert cpu_layout(2) == (2, 1) and cpu_layout(1) == (1, 1) and cpu_layout(16) == (2, 8)
    assert cpu_layout(16, workers=1) == (1, 16) and cpu_layout(3, workers=8) == (3, 1)
    assert [len(p) for p in split_evenly(list(range(5)), 2)] == [3, 2]
    assert [list(p) for p in split_evenly([7], 2)] == [[7]]
    assert split_evenly([], 2) == []


@pytest.mark.model
@pytest.mark.parametrize("options", [{"vad": False}, {"batch_size": 1}], ids=["no-vad", "batch-of-one"])
def test_one_decoder_gets_every_core_when_there_is_one_stream(options):
    from subgen.asr.engines import engine_for

    engine = engine_for(TranscribeOptions(model="tiny.en", device="cpu", **options), resolve("tiny.en"))
    assert engine.name == "faster-whisper" and engine.workers == 1 and len(engine._pipelines) == 1
    assert engine._model.model.num_workers == 1


def test_out_of_memory_halves_the_batch_and_still_decodes_everything(engine, windows, monkeypatch):
    from faster_whisper import BatchedInferencePipeline

    forward = BatchedInferencePipeline.forward
    sizes = []

    def tight(pipeline, features, *args):
        sizes.append(len(features))
        if len(features) > 1:
            raise RuntimeError("CUDA failed with error out of memory")
        return forward(pipeline, features, *args)

    monkeypatch.setattr(BatchedInferencePipeline, "forward", tight)
    monkeypatch.setattr(engine, "workers", 1)  # as on a GPU, where out-of-memory happens
    monkeypatch.setattr(engine.batch, "current", 4)
    results = engine.decode_windows([w for w, _ in windows], OPTIONS, "en")
    assert sizes == [3, 2, 1, 1, 1], "4 (3 windows) fails, 2 fails, then one window at a time"
    assert engine.batch_size == 1 and all(_text(r).strip() for r in results)


def test_a_failed_window_is_redone_alone_and_the_redo_is_used(engine, windows, monkeypatch):
    import subgen.asr.engines.base as base

    redone = []
    fallback = engine._fallback

    def spy(window, options, language):
        redone.append(len(window))
        return fallback(window, options, language)

    monkeypatch.setattr(base, "window_failed", lambda segments: True)
    monkeypatch.setattr(engine, "_fallback", spy)
    audio, reference = windows[0]
    [segments] = engine.decode_windows([audio], OPTIONS, "en")
    assert redone == [len(audio)]
    assert error_rates([reference], [_text(segments)]).wer < 0.2


def test_whole_clip_transcription_for_no_vad(engine, corpus):
    clip = extract_audio(corpus / "en_jfk_inaugural_excerpt.flac")
    seen = []
    transcript = engine.transcribe(clip, OPTIONS, seen.append)
    assert transcript.language == "en" and "country" in transcript.text.lower()
    assert seen and seen[-1] <= clip.duration + 0.05


def test_multilingual_base_detects_german(corpus):
    from subgen.asr.engines.faster_whisper import FasterWhisperEngine

    base = FasterWhisperEngine(resolve("base"), "cpu")
    assert base.multilingual
    german = extract_audio(corpus / "de_fleurs_000.ogg").samples
    assert base.detect_language(german) == "de"
    language, probability = base.language_probability(german)
    assert language == "de" and 0.5 < probability <= 1.0, probability


def test_an_openai_checkpoint_is_refused_with_the_engine_to_use(tmp_path):
    from subgen.asr.engines.faster_whisper import FasterWhisperEngine

    source = ModelSource(name="mine", kind="openai-pt", path=tmp_path / "mine.pt", multilingual=True)
    with pytest.raises(EngineError, match="--engine openai-whisper"):
        FasterWhisperEngine(source, "cpu")


def test_cuda_without_a_gpu_is_refused():
    import ctranslate2

    from subgen.asr.engines.faster_whisper import resolve_device

    if ctranslate2.get_cuda_device_count():
        pytest.skip("this machine has a CUDA GPU")
    assert resolve_device("auto") == "cpu"
    with pytest.raises(EngineError, match="no CUDA GPU"):
        resolve_device("cuda")
