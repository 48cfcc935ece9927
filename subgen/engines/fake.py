"""A deterministic engine for tests of orchestration logic only (no speech recognition)."""

from __future__ import annotations

from dataclasses import dataclass, field

from subgen.config import TranscribeOptions
from subgen.engines.base import ProgressFn, Segment, Transcript, Word
from subgen.errors import EngineError
from subgen.media import AudioClip


@dataclass
class FakeEngine:
    """Emits one two-word segment per ``seconds_per_segment`` of audio; records what it saw."""

    seconds_per_segment: float = 2.0
    fail_on: frozenset[str] = frozenset()
    name: str = "fake"
    model_name: str = "fake"
    device: str = "cpu"
    calls: list[str] = field(default_factory=list)

    def transcribe(
        self, audio: AudioClip, options: TranscribeOptions, progress: ProgressFn | None = None
    ) -> Transcript:
        """Segments named after their index; raises for sources whose name is in ``fail_on``."""
        self.calls.append(audio.source.name)
        if audio.source.name in self.fail_on:
            raise EngineError(f"{audio.source}: fake failure")
        segments = []
        start = 0.0
        while start < audio.duration:
            end = min(start + self.seconds_per_segment, audio.duration)
            mid = (start + end) / 2
            n = len(segments)
            words = (Word(" segment", start, mid), Word(f" {n}", mid, end))
            segments.append(Segment(start, end, f" segment {n}", words))
            if progress:
                progress(end)
            start = end
        return Transcript(
            language=options.language or "en",
            segments=tuple(segments),
            duration=audio.duration,
            model=self.model_name,
            task=options.task,
        )
