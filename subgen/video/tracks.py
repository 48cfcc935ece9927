"""A subtitle track to embed or burn: its file, language, title and the task that made it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from subgen.core.languages import language_name


@dataclass(frozen=True)
class Track:
    """A subtitle file to embed or burn: its language (Whisper code or None), title and the task that made it."""

    path: Path
    language: str | None = None
    title: str | None = None
    task: str = "transcribe"

    @property
    def label(self) -> str:
        """The track title players show: the given title, else the language's name."""
        return self.title or language_name(self.language)
