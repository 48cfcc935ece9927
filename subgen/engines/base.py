"""The Engine interface and the transcript types every stage speaks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from subgen.config import TranscribeOptions
from subgen.media import AudioClip

ProgressFn = Callable[[float], None]
"""Called with the number of audio seconds decoded so far."""


@dataclass(frozen=True)
class Word:
    """One word with its time span (seconds on the media's timeline) and confidence."""

    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    """A decoded stretch of speech with its words."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class Transcript:
    """An engine's whole output for one clip."""

    language: str
    segments: tuple[Segment, ...]
    duration: float
    model: str
    task: str = "transcribe"

    @property
    def text(self) -> str:
        """The transcript as plain text, segments joined by spaces."""
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


class Engine(Protocol):
    """A loaded speech model. Load once per batch, then transcribe many clips."""

    name: str
    model_name: str
    device: str

    def transcribe(
        self, audio: AudioClip, options: TranscribeOptions, progress: ProgressFn | None = None
    ) -> Transcript:
        """Decode a clip into timestamped segments with words."""
        ...
