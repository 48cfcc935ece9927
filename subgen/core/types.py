"""The values that flow between stages: words, segments, transcripts, cues and speech regions."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class Cue:
    """One subtitle on screen: a time span and its lines."""

    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The lines joined with newlines."""
        return "\n".join(self.lines)


@dataclass(frozen=True)
class SpeechRegion:
    """A stretch of the clip's timeline (seconds) that holds speech, padding included."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.end - self.start
