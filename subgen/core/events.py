"""Progress as typed events: stages and the batch emit them, drivers render them (tqdm, SSE, Ray bars)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from subgen.core.results import ItemResult


@dataclass(frozen=True)
class ItemStarted:
    """Work on item ``index`` (0-based) of ``total`` begins."""

    index: int
    total: int
    source: str


@dataclass(frozen=True)
class AudioProgress:
    """``done`` of ``total`` audio seconds of the current item decoded."""

    done: float
    total: float


@dataclass(frozen=True)
class DownloadProgress:
    """``done`` of ``total`` bytes (None when unknown) of ``url`` downloaded."""

    done: float
    total: float | None
    url: str = ""


@dataclass(frozen=True)
class ItemFinished:
    """An item ended (ok, skipped or failed)."""

    result: ItemResult


Event = ItemStarted | AudioProgress | DownloadProgress | ItemFinished
EventFn = Callable[[Event], None]


def ignore(event: Event) -> None:
    """An ``on_event`` that drops every event."""
