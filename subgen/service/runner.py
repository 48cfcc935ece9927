"""One run of one job on the worker thread: the job's items through ``pipeline.batch.Batch`` with the warm engine.

Every run writes into the job's own folder (``jobs/<id>/out``, the batch's output dir, with subgen's json
added as the result document), so outputs are atomic and a rerun after a crash cannot collide with anything.
A server-side path job then publishes the formats asked for where ``subgen run`` would write them (beside the
media, or under ``output_dir``), skipping items whose subtitles exist unless ``overwrite``. Items of upload and
path jobs finished by an earlier, interrupted run of the job are not decoded again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from subgen.asr.engines.base import Engine
from subgen.core.errors import SubgenError
from subgen.core.events import AudioProgress, DownloadProgress, Event, ItemFinished, ItemStarted
from subgen.core.options import OutputOptions, RunOptions
from subgen.core.paths import atomic_write, record_language, split_language_suffix
from subgen.core.results import ItemResult, ItemStatus
from subgen.pipeline.batch import Batch
from subgen.pipeline.prepare import item_base, plan_passes
from subgen.service import spec
from subgen.service.config import ServiceConfig
from subgen.service.hub import Hub
from subgen.service.store import PENDING, ItemRecord, Job, JobState, JobStore
from subgen.sources.inputs import MediaItem, expand_inputs, mirror_base

log = logging.getLogger(__name__)


class Interrupt(BaseException):
    """Raised on the worker thread at a progress step to stop a run: ``cancel`` (by a client) or ``stop``.

    A ``BaseException``, like Ctrl-C, so the batch's per-item guards let it through.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outcome:
    """How a run ended: the job's final state and error."""

    state: JobState
    error: str | None = None


def job_dir(config: ServiceConfig, job_id: str) -> Path:
    """The job's own folder under the state folder."""
    return config.state_dir / "jobs" / job_id


@dataclass
class JobRun:
    """Runs ``job`` once; ``check`` raises ``Interrupt`` when the run must stop (called at each progress step)."""

    job: Job
    config: ServiceConfig
    store: JobStore
    hub: Hub
    engine: Callable[[], Engine]
    check: Callable[[], None]
    _index: dict[str, int] = field(default_factory=dict)
    _todo: list[int] = field(default_factory=list)
    _targets: dict[int, Path] = field(default_factory=dict)
    _done: int = 0
    _seconds: float = 0.0

    @property
    def folder(self) -> Path:
        """The job's folder."""
        return job_dir(self.config, self.job.id)

    def run(self) -> Outcome:
        """Decode every unfinished item; the outcome from all the job's item records."""
        options = spec.run_options(self.job.options, self.config.transcribe_options())
        items = self._items()
        finished = {r.index for r in self.store.items(self.job.id) if r.status != PENDING}
        self._done = len(finished)
        total = None if self.job.kind == "url" else len(items)
        self.store.set_stage(self.job.id, "preparing", total)
        self.hub.update(self.job.id, stage="preparing", items_total=total, items_done=self._done)
        todo = [(n, item) for n, item in enumerate(items) if n not in finished]
        todo = [(n, item) for n, item in todo if not self._skip(n, item, items, options)]
        if todo:
            self._todo = [n for n, _ in todo]
            batch = Batch(self._staged(options), self.engine, self._on_event)
            batch.run([item for _, item in todo])
        return self._outcome()

    def _items(self) -> list[MediaItem]:
        """The job's items. A path job's list is fixed at its first run (stored as pending items), so a resumed
        run keeps every item's number even if the folder changed meanwhile; a file gone since fails alone."""
        job = self.job
        if job.kind == "url":
            return [MediaItem(source=job.input, url=job.input)]
        current = expand_inputs([job.input])
        if job.kind != "path":
            return current
        current = [self._confined(item) for item in current]
        recorded = self.store.items(job.id)
        if not recorded:
            for n, item in enumerate(current):
                self.store.record_item(ItemRecord(job.id, n, item.source, PENDING))
            return current
        by_source = {item.source: item for item in current}
        gone = "no longer there; it was part of the job when it started"
        return [
            by_source.get(r.source) or MediaItem(r.source, Path(r.source), problem=f"{r.source}: {gone}")
            for r in recorded
        ]

    def _confined(self, item: MediaItem) -> MediaItem:
        """A folder's file whose real path (a symlink followed) leaves the roots fails alone, unread."""
        if item.path is None or item.problem or spec.inside(item.path.resolve(), self.config.allow_roots):
            return item
        return replace(item, problem=f"{item.source}: links outside the folders this server may read")

    def _skip(self, index: int, item: MediaItem, items: list[MediaItem], options: RunOptions) -> bool:
        """For path jobs: remember where the item's subtitles go; True (recorded as skipped) when they exist."""
        if self.job.kind != "path" or item.path is None or item.problem:
            return False
        base = item_base(item, item.path, options, mirror_base(items))
        self._targets[index] = base
        passes = plan_passes(base, options)
        if not all(p.done for p in passes):
            return False
        outputs = tuple(str(p) for ps in passes for p in (ps.existing or {}).values())
        self._record(ItemRecord(self.job.id, index, item.source, ItemStatus.SKIPPED, outputs=outputs), 0.0)
        return True

    def _staged(self, options: RunOptions) -> RunOptions:
        formats = tuple(dict.fromkeys([*options.output.formats, "json"]))
        output = OutputOptions(formats=formats, output_dir=self.folder / "out", overwrite=True)
        return replace(options, output=output, download_dir=self.folder / "downloads")

    def _on_event(self, event: Event) -> None:
        """Record the event, then (on the worker thread) stop here if the run must stop: a finished item is kept."""
        if isinstance(event, DownloadProgress):
            self.hub.update(self.job.id, throttle=True, stage="downloading")
            return
        if isinstance(event, ItemStarted):
            self._started(event)
        elif isinstance(event, AudioProgress):
            self.hub.update(self.job.id, throttle=True, current_done=event.done, current_total=event.total)
        elif isinstance(event, ItemFinished):
            self._finished(event.result)
        self.check()

    def _started(self, event: ItemStarted) -> None:
        url = self.job.kind == "url"
        self._index[event.source] = event.index if url else self._todo[event.index]
        if url:
            self.store.set_stage(self.job.id, "decoding", event.total)
        else:
            self.store.set_stage(self.job.id, "decoding")
        self.hub.update(self.job.id, stage="decoding", current_done=0.0, current_total=0.0)
        if url:
            self.hub.update(self.job.id, items_total=event.total)

    def _finished(self, result: ItemResult) -> None:
        index = self._index.get(result.source, len(self._index))
        documents = tuple(self._relative(p) for p in result.outputs if p.suffix == ".json")
        outputs: tuple[str, ...] = ()
        if self.job.kind == "path" and result.status == ItemStatus.OK:
            try:
                outputs = self._publish(index, result)
            except (SubgenError, OSError) as exc:
                log.error("job %s: %s", self.job.id, exc)
                result = ItemResult.failed(result.source, str(exc))
        record = ItemRecord(
            self.job.id,
            index,
            self._client_text(result.source),
            result.status,
            result.language,
            result.audio_seconds,
            result.wall_seconds,
            self._client_text(result.error) if result.error else None,
            outputs,
            documents if result.status == ItemStatus.OK else (),
        )
        self._record(record, result.audio_seconds or 0.0)

    def _record(self, record: ItemRecord, seconds: float) -> None:
        self.store.record_item(record)
        self._done += 1
        self._seconds += seconds
        self.hub.update(
            self.job.id, items_done=self._done, finished_seconds=self._seconds, current_done=0.0, current_total=0.0
        )

    def _publish(self, index: int, result: ItemResult) -> tuple[str, ...]:
        """Copy the requested formats from the job's folder to where ``subgen run`` would write them."""
        base = self._targets[index]
        wanted = set(self.job.options.get("format", ["srt"]))
        published = []
        for staged in result.outputs:
            _, language, suffix = split_language_suffix(staged.name)
            if suffix.lstrip(".") not in wanted or language is None:
                continue
            target = base.with_name(f"{base.name}.{language}{suffix}")
            atomic_write(target, staged.read_text(encoding="utf-8"))
            record_language(base, language)  # so the next run (CLI or service) knows these are its own
            published.append(str(target))
        return tuple(published)

    def _relative(self, path: Path) -> str:
        return str(path.relative_to(self.folder))

    def _client_text(self, text: str) -> str:
        """Messages about an upload name the client's file, not where the server keeps it."""
        return text.replace(self.job.input, self.job.source) if self.job.kind == "upload" else text

    def _outcome(self) -> Outcome:
        records = [r for r in self.store.items(self.job.id) if r.status != PENDING]
        if not records:
            return Outcome(JobState.FAILED, f"{self.job.source}: no media files found")
        failed = [r for r in records if r.status == ItemStatus.FAILED]
        if len(failed) == len(records):
            return Outcome(JobState.FAILED, failed[0].error)
        return Outcome(JobState.DONE, f"{len(failed)} of {len(records)} items failed" if failed else None)
