"""A deterministic engine for tests of orchestration logic only (no speech recognition)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from subgen.asr.engines.base import ProgressFn
from subgen.audio.media import SAMPLE_RATE, AudioClip
from subgen.core.errors import EngineError
from subgen.core.options import TranscribeOptions
from subgen.core.types import Segment, Transcript, Word


def _segments(duration: float, every: float, progress: ProgressFn | None = None) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    start = 0.0
    while start < duration:
        end = min(start + every, duration)
        mid = (start + end) / 2
        n = len(segments)
        segments.append(Segment(start, end, f" segment {n}", (Word(" segment", start, mid), Word(f" {n}", mid, end))))
        if progress:
            progress(end)
        start = end
    return tuple(segments)


@dataclass
class FakeEngine:
    """Emits one two-word segment per ``seconds_per_segment`` of audio; records what it saw.

    ``transcribe`` fails for sources named in ``fail_on``; ``decode_windows`` fails on the calls (0-based)
    in ``fail_calls`` and records the size of every batch in ``batches``.
    """

    seconds_per_segment: float = 2.0
    fail_on: frozenset[str] = frozenset()
    fail_calls: frozenset[int] = frozenset()
    batch_size: int = 8
    encoder_step: float = 0.0
    language: str = "en"
    name: str = "fake"
    model_name: str = "fake"
    device: str = "cpu"
    calls: list[str] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)

    def transcribe(
        self, audio: AudioClip, options: TranscribeOptions, progress: ProgressFn | None = None
    ) -> Transcript:
        """Segments named after their index; raises for sources whose name is in ``fail_on``."""
        self.calls.append(audio.source.name)
        if audio.source.name in self.fail_on:
            raise EngineError(f"{audio.source}: fake failure")
        segments = _segments(audio.duration, self.seconds_per_segment, progress)
        return Transcript(options.language or self.language, segments, audio.duration, self.model_name, options.task)

    def language_probability(self, samples: np.ndarray) -> tuple[str, float]:
        """The configured ``language``, certain."""
        return self.language, 1.0

    def detect_language(self, samples: np.ndarray) -> str:
        """The configured ``language``."""
        return self.language

    def encoder_seconds(self, duration: float) -> float:
        """``encoder_step`` seconds per started step of ``duration`` (0: always 30, every window one group)."""
        return 30.0 if not self.encoder_step else self.encoder_step * math.ceil(duration / self.encoder_step)

    def decode_windows(
        self, windows: Sequence[np.ndarray], options: TranscribeOptions, language: str
    ) -> list[tuple[Segment, ...]]:
        """Each window's segments as ``transcribe`` would make them for a clip of its length."""
        call = len(self.batches)
        self.batches.append(len(windows))
        if call in self.fail_calls:
            raise EngineError(f"fake failure in batch {call}")
        return [_segments(len(w) / SAMPLE_RATE, self.seconds_per_segment) for w in windows]
