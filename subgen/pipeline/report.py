"""The run report: per-item rows and totals, as data for the summary table and ``--report``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from subgen.core.paths import atomic_write, display
from subgen.core.results import ItemResult, ItemStatus
from subgen.core.version import __version__


@dataclass(frozen=True)
class RunReport:
    """A finished (or interrupted) batch."""

    results: tuple[ItemResult, ...]
    wall_seconds: float
    model: str
    engine: str | None
    device: str | None
    interrupted: bool = False
    model_load_seconds: float = 0.0

    def count(self, status: ItemStatus) -> int:
        """How many items ended with ``status``."""
        return sum(1 for r in self.results if r.status == status)

    @property
    def audio_seconds(self) -> float:
        """Audio transcribed in this run (skipped and failed items excluded)."""
        return sum(r.audio_seconds or 0.0 for r in self.results if r.status == ItemStatus.OK)

    def to_dict(self) -> dict:
        """JSON-ready form, the schema of ``--report``."""
        return {
            "subgen_version": __version__,
            "model": self.model,
            "engine": self.engine,
            "device": self.device,
            "interrupted": self.interrupted,
            "model_load_seconds": round(self.model_load_seconds, 3),
            "totals": {
                "items": len(self.results),
                **{status.value: self.count(status) for status in ItemStatus},
                "audio_seconds": round(self.audio_seconds, 3),
                "wall_seconds": round(self.wall_seconds, 3),
                "realtime_factor": _ratio(self.audio_seconds, self.wall_seconds),
            },
            "items": [_item_dict(r) for r in self.results],
        }

    def write_json(self, path: Path) -> None:
        """Write the report atomically."""
        atomic_write(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n")


def _ratio(audio: float | None, wall: float) -> float | None:
    return round(audio / wall, 3) if audio and wall > 0 else None


def _item_dict(r: ItemResult) -> dict:
    return {
        "source": display(r.source),
        "status": r.status.value,
        "outputs": [display(p) for p in r.outputs],
        "error": display(r.error) if r.error is not None else None,
        "audio_seconds": round(r.audio_seconds, 3) if r.audio_seconds is not None else None,
        "language": r.language,
        "wall_seconds": round(r.wall_seconds, 3),
        "realtime_factor": round(r.realtime_factor, 3) if r.realtime_factor else None,
        "warnings": [display(w) for w in r.warnings],
    }
