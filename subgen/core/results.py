"""What a batch reports per item: a status and, for work done, the outputs, language and timings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class ItemStatus(StrEnum):
    """How an item ended: subtitles written, already there, or not made (with a one-line reason)."""

    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class ItemResult:
    """What happened to one item."""

    source: str
    status: ItemStatus
    outputs: tuple[Path, ...] = ()
    error: str | None = None
    audio_seconds: float | None = None
    language: str | None = None
    wall_seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    """Problems that did not stop the item, e.g. audio that ends long before the file says it does."""

    @property
    def realtime_factor(self) -> float | None:
        """Audio seconds per wall second (higher is faster); None when nothing was transcribed."""
        if not self.audio_seconds or self.status != ItemStatus.OK or self.wall_seconds <= 0:
            return None
        return self.audio_seconds / self.wall_seconds

    @classmethod
    def failed(cls, source: str, error: str) -> ItemResult:
        """A failed item with its one-line reason."""
        return cls(source, ItemStatus.FAILED, error=error)
