"""subgen: batch subtitles from videos, folders and URLs with Whisper.

The public API (see ``subgen.api``): ``transcribe`` one file into a ``Result``, ``run_batch`` many into
``ItemResult``s, with the options, events and errors they take and raise. Names load on first use, so
``import subgen`` stays light (no torch, no model).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from subgen.core.version import __version__

if TYPE_CHECKING:
    from subgen.api import Result, load_engine, run_batch, transcribe
    from subgen.core.errors import SubgenError, UsageError
    from subgen.core.events import AudioProgress, DownloadProgress, Event, ItemFinished, ItemStarted
    from subgen.core.options import (
        CueOptions,
        OutputOptions,
        RunOptions,
        SubtitleStyle,
        TranscribeOptions,
        VideoOptions,
    )
    from subgen.core.results import ItemResult, ItemStatus

_EXPORTS = {
    "subgen.api": ("Result", "load_engine", "run_batch", "transcribe"),
    "subgen.core.errors": ("SubgenError", "UsageError"),
    "subgen.core.events": ("AudioProgress", "DownloadProgress", "Event", "ItemFinished", "ItemStarted"),
    "subgen.core.options": (
        "CueOptions",
        "OutputOptions",
        "RunOptions",
        "SubtitleStyle",
        "TranscribeOptions",
        "VideoOptions",
    ),
    "subgen.core.results": ("ItemResult", "ItemStatus"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [
    "AudioProgress",
    "CueOptions",
    "DownloadProgress",
    "Event",
    "ItemFinished",
    "ItemResult",
    "ItemStarted",
    "ItemStatus",
    "OutputOptions",
    "Result",
    "RunOptions",
    "SubgenError",
    "SubtitleStyle",
    "TranscribeOptions",
    "UsageError",
    "VideoOptions",
    "__version__",
    "load_engine",
    "run_batch",
    "transcribe",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'subgen' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
