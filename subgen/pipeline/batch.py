"""Run a batch, top to bottom: plan the items, prepare them ahead on a thread, decode their windows in shared
batches, finish each pass as it comes back, and report every item once. One item's failure, a bug included,
fails that item only."""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from subgen.asr.batching import DecodeJob, WindowBatcher
from subgen.asr.engines.base import Engine
from subgen.core.events import AudioProgress, Event, EventFn, ItemFinished, ItemStarted, ignore
from subgen.core.options import RunOptions
from subgen.core.results import ItemResult
from subgen.pipeline import finish
from subgen.pipeline.engine import EngineSlot
from subgen.pipeline.item import finish_pass, guarded, start_item
from subgen.pipeline.prefetch import Prefetcher
from subgen.pipeline.prepare import (
    Failed,
    PrepareContext,
    Prepared,
    Ready,
    Skipped,
    item_base,
    prepare,
    skipped_result,
)
from subgen.pipeline.scratch import scratch_dir
from subgen.sources.download import Downloader
from subgen.sources.inputs import MediaItem, mirror_base

log = logging.getLogger(__name__)

PREFETCH_ITEMS = 2
"""Items prepared ahead of the decoder (downloaded, audio extracted to disk, speech found)."""


@dataclass(frozen=True)
class Plan:
    """Stage 1's output: the batch's items (playlists expanded), the folder outputs mirror, the downloader."""

    items: tuple[MediaItem, ...]
    mirror: Path | None
    downloader: Downloader | None


def plan_items(items: Sequence[MediaItem], options: RunOptions, on_event: EventFn = ignore) -> Plan:
    """Stage 1, plan: expand playlist URLs into one item per entry; decide where outputs mirror from."""
    downloader = None
    if any(item.is_url and not item.problem for item in items):
        target = options.download_dir or options.output.output_dir or Path.cwd()
        downloader = Downloader(target, video=options.video.needs_picture, on_event=on_event)
        items = [entry for item in items for entry in downloader.expand(item)]
    mirror = mirror_base(list(items))
    return Plan(tuple(_without_collisions(items, options, mirror)), mirror, downloader)


def _without_collisions(items: Sequence[MediaItem], options: RunOptions, mirror: Path | None) -> list[MediaItem]:
    """Items whose subtitles would get the same names as an earlier item's (``talk.mp4`` and ``talk.wav`` in one
    folder both make ``talk.en.srt``) fail with the reason instead of overwriting each other's."""
    owners: dict[Path, MediaItem] = {}
    kept = []
    for item in items:
        if item.problem or item.path is None or item.is_url:
            kept.append(item)
            continue
        base = Path(os.path.abspath(item_base(item, item.path, options, mirror)))
        if (first := owners.setdefault(base, item)) is not item:
            problem = (
                f"{item.source}: its subtitles would be named like those of {first.source} ({base.name}.<lang>.<ext>);"
                " rename one of the two, or run this one alone with --output-dir"
            )
            item = replace(item, problem=problem)
        kept.append(item)
    return kept


@dataclass(eq=False)
class _InFlight:
    """A ready item between its first window and its last pass: pass results gather here."""

    ready: Ready
    started: float
    loaded_before: float
    results: dict[int, ItemResult] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.results) == len(self.ready.passes)


@dataclass
class Batch:
    """One run over a list of items with fixed options.

    A background thread downloads, extracts audio and finds speech a few items ahead while the engine
    decodes; the speech windows of consecutive items share decoder batches (``subgen.asr.batching``).
    """

    options: RunOptions
    engine_factory: Callable[[], Engine]
    on_event: EventFn = ignore
    prefetch: int = PREFETCH_ITEMS
    _slot: EngineSlot = field(init=False)
    _jobs: dict[DecodeJob, tuple[_InFlight, int]] = field(init=False, default_factory=dict)
    _results: list[ItemResult | None] = field(init=False, default_factory=list)
    _events: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._slot = EngineSlot(self.engine_factory)

    @property
    def engine(self) -> Engine | None:
        """The engine, if it was needed and loaded."""
        return self._slot.engine

    @property
    def load_seconds(self) -> float:
        """Time spent loading the engine (0 when no item needed it)."""
        return self._slot.load_seconds

    def run(self, items: Sequence[MediaItem]) -> list[ItemResult]:
        """Process every item; returns one result per item, in input order."""
        plan = plan_items(items, self.options, self._emit)
        self._results = [None] * len(plan.items)
        batcher = WindowBatcher(self._slot.get, on_progress=self._progress)
        context = PrepareContext(self.options, plan.mirror, plan.downloader)
        with scratch_dir() as scratch:

            def work(entry: tuple[int, MediaItem]) -> Prepared:
                return prepare(entry[0], entry[1], context, scratch / str(entry[0]))

            with Prefetcher(list(enumerate(plan.items)), work, self.prefetch) as ready:
                for prepared in ready:
                    self._start(prepared, len(plan.items), batcher)
                    self._finish_jobs(batcher.pump())
                self._finish_jobs(batcher.pump(flush=True))
        return [r for r in self._results if r is not None]

    def _emit(self, event: Event) -> None:
        with self._events:  # the prefetch thread reports download progress too
            self.on_event(event)

    def _progress(self, job: DecodeJob) -> None:
        self._emit(AudioProgress(min(job.decoded_until, job.clip.duration), job.clip.duration))

    def _start(self, prepared: Prepared, total: int, batcher: WindowBatcher) -> None:
        self._emit(ItemStarted(prepared.index, total, prepared.item.source))
        started, loaded = time.monotonic(), self._slot.load_seconds
        if isinstance(prepared, Failed):
            self._record(prepared.index, prepared.result, started, loaded)
        elif isinstance(prepared, Skipped):
            self._record(prepared.index, skipped_result(prepared.item, prepared.passes), started, loaded)
        else:
            self._start_ready(_InFlight(prepared, started, loaded), batcher)

    def _start_ready(self, flight: _InFlight, batcher: WindowBatcher) -> None:
        ready = flight.ready
        for number, started in enumerate(start_item(batcher, ready, self._slot.get, self._whole_progress(ready))):
            if isinstance(started, ItemResult):
                flight.results[number] = started
            else:
                self._jobs[started] = (flight, number)
        if flight.complete:
            self._complete(flight)

    def _whole_progress(self, ready: Ready) -> Callable[[float], None]:
        total = ready.audio.clip.duration
        return lambda done: self._emit(AudioProgress(min(done, total), total))

    def _finish_jobs(self, jobs: list[DecodeJob]) -> None:
        for job in jobs:
            flight, number = self._jobs.pop(job)
            ready = flight.ready
            flight.results[number] = guarded(ready.item.source, lambda: self._finish_pass(ready, number, job))  # noqa: B023
            if flight.complete:
                self._complete(flight)

    def _finish_pass(self, ready: Ready, number: int, job: DecodeJob) -> ItemResult:
        result = finish_pass(ready, number, job, self.options)
        self._emit(AudioProgress(job.clip.duration, job.clip.duration))
        return result

    def _complete(self, flight: _InFlight) -> None:
        ready = flight.ready
        results = [flight.results[n] for n in range(len(ready.passes))]
        result = guarded(ready.item.source, lambda: finish.video_step(self.options, ready.path, ready.passes, results))
        shutil.rmtree(ready.scratch, ignore_errors=True)  # the item's audio file: disk is freed as items finish
        self._record(ready.index, result, flight.started, flight.loaded_before)

    def _record(self, index: int, result: ItemResult, started: float, loaded_before: float) -> None:
        # The one-off model load is reported by the batch, not charged to the item that triggered it.
        load = self._slot.load_seconds - loaded_before
        result = replace(result, wall_seconds=max(0.0, time.monotonic() - started - load))
        self._results[index] = result
        self._emit(ItemFinished(result))
