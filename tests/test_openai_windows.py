"""Batched window decoding with the openai-whisper engine: real tiny.en on real speech, plus the batch back-off."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from subgen.asr.engines.base import BatchSize, OutOfMemory
from subgen.audio.media import SAMPLE_RATE
from subgen.core.errors import EngineError
from subgen.core.options import TranscribeOptions
from subgen.core.types import Segment

# Short single-sentence clips, so the CPU decode stays quick; tiny.en gets them right or nearly.
STEMS = ("en_jfk_inaugural_excerpt.flac", "en_ljspeech_LJ001-0004.flac", "en_librispeech_1089-134691-0001.flac")
GREEDY = TranscribeOptions(beam_size=1)
BEAM = TranscribeOptions(beam_size=5)


@dataclass(frozen=True)
class Clip:
    """One corpus item as a decode window."""

    stem: str
    samples: np.ndarray
    reference: str

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / SAMPLE_RATE


@pytest.fixture(scope="module")
def clips(corpus) -> list[Clip]:
    """The test windows: real English speech, each under 30 s."""
    from subgen.audio.media import extract_audio

    out = []
    for stem in STEMS:
        path = corpus / stem
        out.append(Clip(stem, extract_audio(path).samples, path.with_suffix(".txt").read_text(encoding="utf-8")))
    assert all(c.duration <= 30 for c in out)
    return out


def _spy_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the number of mel windows in every whisper decoding call (beam-search batches included)."""
    from whisper.decoding import DecodingTask

    sizes: list[int] = []
    run = DecodingTask.run

    def spy(self, mel):
        sizes.append(int(mel.shape[0]))
        return run(self, mel)

    monkeypatch.setattr(DecodingTask, "run", spy)
    return sizes


@pytest.fixture(scope="module")
def batched(tiny_engine, clips) -> tuple[list[tuple[Segment, ...]], list[int]]:
    """All clips decoded (beam search, the default) in one ``decode_windows`` call, and the batch sizes whisper saw."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tiny_engine, "batch", BatchSize(4))
        sizes = _spy_batches(mp)
        results = tiny_engine.decode_windows([c.samples for c in clips], BEAM, "en")
    return results, sizes


def _text(segments: tuple[Segment, ...]) -> str:
    return " ".join(s.text.strip() for s in segments)


def test_windows_are_decoded_in_one_call(batched, clips):
    results, sizes = batched
    assert len(results) == len(clips)
    assert sizes[0] == len(clips)  # any later call is a failed window decoded again on its own
    assert all(size == 1 for size in sizes[1:])


def test_batched_windows_transcribe_real_speech(batched, clips):
    from subgen.evaluate.rates import error_rates

    results, _ = batched
    for clip, segments in zip(clips, results, strict=True):
        wer = error_rates([clip.reference], [_text(segments)]).wer
        assert wer <= 0.25, f"{clip.stem}: WER {wer:.2f} for {_text(segments)!r}"


def test_word_times_lie_inside_their_window_and_increase(batched, clips):
    results, _ = batched
    for clip, segments in zip(clips, results, strict=True):
        words = [w for s in segments for w in s.words]
        assert words, clip.stem
        assert all(0.0 <= s.start < s.end <= clip.duration for s in segments)
        assert all(0.0 <= w.start <= w.end <= clip.duration for w in words)
        starts = [w.start for w in words]
        assert starts == sorted(starts), clip.stem
        # the speech fills these clips: the words should reach close to each clip's end
        assert words[-1].end > clip.duration - 2.0, clip.stem


def test_batch_size_does_not_change_the_text(tiny_engine, batched, clips, monkeypatch):
    # Beam search over several windows also proves the engine's way around openai-whisper's batch bug.
    # A window's decode does not depend on its neighbours, so the two shortest windows stand for all (CPU time).
    results, _ = batched
    monkeypatch.setattr(tiny_engine, "batch", BatchSize(1))
    sizes = _spy_batches(monkeypatch)
    one_by_one = tiny_engine.decode_windows([c.samples for c in clips[1:]], BEAM, "en")
    assert sizes == [1, 1]
    assert [_text(r) for r in one_by_one] == [_text(r) for r in results[1:]]


def test_english_only_model_detects_english(tiny_engine, clips):
    assert tiny_engine.detect_language(clips[0].samples) == "en"
    assert tiny_engine.language_probability(clips[0].samples) == ("en", 1.0), "tiny.en is English-only: certain"


def test_silence_leaves_nothing_the_no_speech_rules_keep(tiny_engine):
    from subgen.asr.suppress import SuppressOptions, is_symbols_only, is_unlikely_speech

    silence = [np.zeros(seconds * SAMPLE_RATE, dtype=np.float32) for seconds in (5, 2)]
    results = tiny_engine.decode_windows(silence, GREEDY, "en")
    assert len(results) == 2
    # Whisper may write "." over silence; the segment then carries the no-speech signs suppress.py removes.
    kept = [s for r in results for s in r if not (is_unlikely_speech(s, SuppressOptions()) or is_symbols_only(s.text))]
    assert kept == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("cuda-oom", OutOfMemory),
        (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), OutOfMemory),
        (RuntimeError("shape mismatch"), EngineError),
    ],
)
def test_decoder_errors_are_translated(tiny_engine, monkeypatch, error, expected):
    import torch
    from whisper.decoding import DecodingTask

    def fail(self, mel):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory") if error == "cuda-oom" else error

    monkeypatch.setattr(DecodingTask, "run", fail)
    monkeypatch.setattr(tiny_engine, "batch", BatchSize(4))
    window = np.zeros(SAMPLE_RATE, dtype=np.float32)
    with pytest.raises(expected):
        tiny_engine.decode_windows([window] * 3, GREEDY, "en")
    if expected is OutOfMemory:
        assert tiny_engine.batch_size == 1  # halved down to single windows before giving up


def _fake_decode(limit: int, calls: list[int]):
    """A decode function that runs out of memory on more than ``limit`` windows, else labels each window."""

    def decode(part):
        calls.append(len(part))
        if len(part) > limit:
            raise OutOfMemory("out of memory")
        return [(Segment(0.0, 1.0, f"w{int(w[0])}"),) for w in part]

    return decode


def test_batch_size_halves_on_out_of_memory_and_keeps_order():
    calls: list[int] = []
    batch = BatchSize(8)
    windows = [np.full(4, i, dtype=np.float32) for i in range(7)]
    results = batch.decode(_fake_decode(2, calls), windows)
    assert [r[0].text for r in results] == [f"w{i}" for i in range(7)]
    assert batch.current == 2
    assert calls == [7, 4, 2, 2, 2, 1]  # 8 asked (7 left), then 4, then pairs; it never grows back


def test_out_of_memory_on_a_single_window_is_raised():
    calls: list[int] = []
    batch = BatchSize(4)
    with pytest.raises(OutOfMemory):
        batch.decode(_fake_decode(0, calls), [np.zeros(4, dtype=np.float32)] * 3)
    assert calls == [3, 2, 1]
    assert batch.current == 1


def test_a_batch_is_encoded_once_and_its_words_are_timed_on_those_features(tiny_engine, clips, monkeypatch):
    import whisper.model

    encode = whisper.model.AudioEncoder.forward
    shapes: list[tuple[int, ...]] = []

    def spy(self, mels):
        shapes.append(tuple(mels.shape))
        return encode(self, mels)

    monkeypatch.setattr(whisper.model.AudioEncoder, "forward", spy)
    monkeypatch.setattr(tiny_engine, "batch", BatchSize(4))
    results = tiny_engine.decode_windows([c.samples for c in clips], GREEDY, "en")
    assert shapes == [(len(clips), 80, 3000)], "one encoder pass for the batch, none per window for word timing"
    for clip, segments in zip(clips, results, strict=True):
        words = [w for s in segments for w in s.words]
        assert words and all(0.0 <= w.start <= w.end <= clip.duration for w in words), clip.stem
        assert words[-1].end > clip.duration - 2.0, clip.stem
