"""The pipeline's stages as Ray Data functions: prepare (CPU tasks), decode (an actor holding the engine), finish
(CPU tasks). Each takes and returns a pyarrow table of rows; every item comes out as exactly one row, whatever
went wrong with it, because one exception escaping a Ray Data function would fail the whole dataset."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from subgen.asr.batching import DecodeJob, WindowBatcher
from subgen.core.errors import SubgenError
from subgen.core.options import RunOptions
from subgen.core.results import ItemResult
from subgen.distributed.values import (
    EngineInfo,
    PassDecode,
    RunSpec,
    Staged,
    decode,
    encode,
    status_rows,
    without_audio,
)
from subgen.pipeline import finish
from subgen.pipeline.engine import EngineSlot
from subgen.pipeline.item import Started, guarded, start_item
from subgen.pipeline.item import finish_pass as finish_decoded
from subgen.pipeline.prepare import Failed, PrepareContext, Ready, Skipped, prepare, skipped_result
from subgen.pipeline.scratch import scratch_dir
from subgen.sources.download import Downloader
from subgen.sources.inputs import MediaItem

if TYPE_CHECKING:
    import pyarrow as pa

    from subgen.asr.engines.base import Engine

log = logging.getLogger(__name__)


def worker_logging(level: int) -> None:
    """subgen's log on a Ray worker as on the driver (level and ``LEVEL: message`` lines, on stderr, which Ray
    forwards to the driver); once per process."""
    root = logging.getLogger("subgen")
    root.setLevel(level)
    if not any(getattr(h, "subgen_worker", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        handler.subgen_worker = True  # type: ignore[attr-defined]
        root.handlers[:] = [handler]
        root.propagate = False


# ---------------------------------------------------------------- stage 1: prepare (CPU task)


def prepare_rows(batch: pa.Table, spec: RunSpec) -> pa.Table:
    """Download, extract audio and find speech for each item; its audio travels on in the row (the object store)."""
    worker_logging(spec.log_level)
    downloader = Downloader(spec.download_dir, video=spec.options.video.needs_picture)
    context = PrepareContext(spec.options, spec.mirror, downloader)
    indexes = batch.column("index").to_pylist()
    return encode([(i, prepare_one(i, spec.items[i], context)) for i in indexes])


def prepare_one(index: int, item: MediaItem, context: PrepareContext) -> Staged:
    """``prepare`` on this worker, with the audio read into memory so it can leave the worker's scratch folder."""
    started = time.monotonic()
    with scratch_dir() as scratch:
        prepared = prepare(index, item, context, scratch)
        try:
            if isinstance(prepared, Ready):
                prepared = in_memory(prepared)
        except Exception as exc:  # prepare catches everything itself; this is reading the samples back
            log.exception("%s: unexpected error", item.source)
            prepared = Failed(index, item, ItemResult.failed(item.source, f"{item.source}: internal error: {exc!r}"))
    return Staged(prepared, time.monotonic() - started)


def in_memory(ready: Ready) -> Ready:
    """``ready`` with its samples read from the scratch file into an array."""
    clip = ready.audio.clip
    samples = np.asarray(clip.samples[0 : len(clip.samples)], dtype=np.float32)
    return replace(ready, audio=replace(ready.audio, clip=replace(clip, samples=samples)))


# ---------------------------------------------------------------- stage 2: decode (actor)


class Decoder:
    """A Ray actor holding one engine: decodes the windows of the items it is given in shared batches, cut by the
    rule the local run uses (``asr.batching``), so an item gets the same subtitles as locally.

    The engine loads on the first item that needs it, so a rerun whose outputs all exist loads no model.
    """

    def __init__(self, spec: RunSpec) -> None:
        worker_logging(spec.log_level)
        self.spec = spec
        self.slot = EngineSlot(self._load)

    def _load(self) -> Engine:
        from subgen.api import load_engine

        return load_engine(self.spec.options.transcribe)

    def __call__(self, batch: pa.Table) -> pa.Table:
        """Decode every ready item of ``batch`` (in index order); each item's row carries its passes' decodes."""
        entries = sorted(decode(batch), key=lambda entry: entry[0])
        started, loaded = time.monotonic(), self.slot.load_seconds
        decoded = self.decode_isolated([value for _, value in entries])
        load = self.slot.load_seconds - loaded
        seconds = max(0.0, time.monotonic() - started - load)
        engine = self.engine_info()
        values = [replace(v, seconds=v.seconds + seconds, engine=engine) for v in decoded]
        return encode([(index, value) for (index, _), value in zip(entries, values, strict=True)])

    def engine_info(self) -> EngineInfo | None:
        """The loaded engine's name and device, and what loading it took."""
        engine = self.slot.engine
        return EngineInfo(engine.name, engine.device, self.slot.load_seconds) if engine else None

    def decode_isolated(self, values: list[Staged]) -> list[Staged]:
        """``decode_items``; when something escapes it (a bug), each item again alone, so only its culprit fails."""
        try:
            return self.decode_items(values)
        except Exception as exc:
            if len(values) == 1:
                return [self.broken(values[0], exc)]
            log.warning("a shared decode failed (%r); decoding its %d items one by one", exc, len(values))
            return [out for value in values for out in self.decode_isolated([value])]

    def broken(self, value: Staged, exc: Exception) -> Staged:
        """An item whose decoding raised something the pipeline does not expect, as a failed item."""
        item = value.prepared.item
        log.exception("%s: unexpected error while decoding", item.source, exc_info=exc)
        result = ItemResult.failed(item.source, f"{item.source}: internal error: {exc!r}")
        return replace(value, prepared=Failed(value.prepared.index, item, result))

    def decode_items(self, values: list[Staged]) -> list[Staged]:
        """What ``Batch`` does for consecutive items: queue each ready item's passes, decode full batches, flush."""
        batcher = WindowBatcher(self.slot.get)
        jobs: dict[int, list[Started]] = {}
        for number, value in enumerate(values):
            if isinstance(value.prepared, Ready):
                jobs[number] = self.start(batcher, value.prepared)
                batcher.pump()
        batcher.pump(flush=True)
        return [finished(value, jobs.get(number)) for number, value in enumerate(values)]

    def start(self, batcher: WindowBatcher, ready: Ready) -> list[Started]:
        """Queue the windows of each unfinished pass of ``ready``, as ``Batch`` does (``pipeline.item``)."""
        return start_item(batcher, ready, self.slot.get, _no_progress)


def _no_progress(done: float) -> None:
    """Audio progress inside an actor is not reported: the driver counts an item's seconds when it finishes."""


def finished(value: Staged, jobs: list[Started] | None) -> Staged:
    """``value`` after decoding: its passes' decodes, its audio dropped (only its length goes on)."""
    ready = value.prepared
    if jobs is None or not isinstance(ready, Ready):
        return value
    decoded = tuple(PassDecode.of(job) if isinstance(job, DecodeJob) else job for job in jobs)
    samples = len(ready.audio.clip.samples)
    return replace(value, prepared=without_audio(ready), decoded=decoded, samples=samples)


# ---------------------------------------------------------------- stage 3: finish (CPU task)


def finish_rows(batch: pa.Table, spec: RunSpec) -> pa.Table:
    """Cues, files and the video step of each decoded item; one status row per item."""
    worker_logging(spec.log_level)
    rows = []
    for index, value in decode(batch):
        started = time.monotonic()
        result = finish_one(value, spec)
        seconds = value.seconds + time.monotonic() - started
        rows.append((index, replace(result, wall_seconds=seconds), value.engine))
    return status_rows(rows)


def finish_one(value: Staged, spec: RunSpec) -> ItemResult:
    """The item's result: written files, or why not (as ``Batch`` finishes passes and then the item)."""
    prepared = value.prepared
    if isinstance(prepared, Failed):
        return prepared.result
    if isinstance(prepared, Skipped):
        return skipped_result(prepared.item, prepared.passes)
    options, item = spec.options, prepared.item
    results = [
        guarded(item.source, lambda n=n: finish_pass(value, prepared, n, options))  # type: ignore[misc]
        for n in range(len(prepared.passes))
    ]
    return guarded(item.source, lambda: finish.video_step(options, prepared.path, prepared.passes, results))


def finish_pass(value: Staged, ready: Ready, number: int, options: RunOptions) -> ItemResult:
    """One pass's files: skipped when they exist, else cues from its decode, written atomically."""
    plan, source = ready.passes[number], ready.item.source
    if plan.done:
        return finish.skipped_pass(plan, source)
    decoded = value.decoded[number]
    if isinstance(decoded, ItemResult):  # settled by the decoder: files in the detected language exist
        return decoded
    if decoded is None:  # the decode stage leaves None only for finished passes
        raise SubgenError(f"{source}: pass {number + 1} was not decoded")
    return finish_decoded(ready, number, decoded.job(ready, number, value.samples), options)
