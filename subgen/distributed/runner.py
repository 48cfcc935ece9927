"""``run_on_ray``: the batch of ``subgen run`` as a Ray Data pipeline, with the local run's guarantees.

    plan (driver) ─► from_items(index) ─► prepare_rows (CPU tasks: download, audio, VAD; audio into the row)
                 ─► Decoder (actor pool, one engine each: cross-file batched windows) ─► finish_rows (CPU tasks:
                    cues, atomic writes, video) ─► status rows, read on the driver as they come

Items already subtitled are skipped by the prepare stage exactly as locally, so a rerun after a killed job does
only what is missing. Paths are made absolute on the driver: workers run in other folders (and on other nodes,
where inputs and outputs must be on storage every node sees).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from subgen.core.events import EventFn, ItemFinished, ItemStarted, ignore
from subgen.core.options import RunOptions
from subgen.core.results import ItemResult
from subgen.distributed.options import ACTOR_TASK_RETRIES, TASK_RETRIES, Layout, RayOptions, checked_on_driver, layout
from subgen.distributed.session import cluster_shape, data_context, ray_session
from subgen.distributed.stages import Decoder, finish_rows, prepare_rows
from subgen.distributed.values import EngineInfo, RunSpec, from_status_row
from subgen.pipeline.batch import plan_items
from subgen.sources.inputs import MediaItem

log = logging.getLogger(__name__)

DROPPED = f"a Ray worker failed on it {TASK_RETRIES + 1} times"
"""Why an item's row never came back when the dataset itself finished: its block was dropped after the retries."""


@dataclass(frozen=True)
class RayRun:
    """A batch run on Ray: one result per item in input order (only the finished ones when interrupted), and
    the engine that decoded (the first one reported; actors load the same model)."""

    results: tuple[ItemResult, ...]
    engine: str | None = None
    device: str | None = None
    load_seconds: float = 0.0
    interrupted: bool = False


def run_on_ray(
    items: Sequence[MediaItem],
    options: RunOptions,
    ray_options: RayOptions | None = None,
    on_event: EventFn = ignore,
    *,
    decoder: type[Decoder] = Decoder,
) -> RayRun:
    """Subtitle ``items`` on a Ray cluster (see the module's docstring); ``decoder`` is the actor class.

    Usage problems (options, destinations, a cluster that cannot be reached or cannot hold the actors) raise
    ``UsageError``/``OutputError`` before any work; a failed item is a failed result, never an exception."""
    from subgen.api import check_destinations, check_run

    ray_options = ray_options or RayOptions()
    check_run(checked_on_driver(options))
    check_destinations(options)
    options = absolute_options(options)
    plan = plan_items([absolute_item(i) for i in items], options)  # playlists are expanded here, on the driver
    spec = RunSpec(plan.items, options, plan.mirror, download_dir(options), ray_options.log_level)
    if not spec.items:
        return RayRun(())
    with ray_session(ray_options.address) as ray, data_context():
        shape = layout(ray_options, options.transcribe.device, *cluster_shape(ray))
        log.info("decoding on %d actor(s) of %g GPU / %g CPU each", shape.actors, shape.gpus, shape.cpus)
        # Closing the rows stops the pipeline at once (tasks cancelled, actors killed), not when garbage-collected.
        with contextlib.closing(arriving(dataset(ray, spec, shape, ray_options.items_per_call, decoder))) as rows:
            return collect(rows, spec, on_event)


def absolute_item(item: MediaItem) -> MediaItem:
    """``item`` with absolute paths (the source the user typed is kept for the report)."""
    path = Path(os.path.abspath(item.path)) if item.path is not None else None
    root = Path(os.path.abspath(item.root)) if item.root is not None else None
    return replace(item, path=path, root=root)


def absolute_options(options: RunOptions) -> RunOptions:
    """``options`` with the output, download and fonts folders absolute."""
    output, video = options.output, options.video

    def absolute(path: Path | None) -> Path | None:
        return Path(os.path.abspath(path)) if path is not None else None

    return replace(
        options,
        output=replace(output, output_dir=absolute(output.output_dir)),
        download_dir=absolute(options.download_dir),
        video=replace(video, fonts_dir=absolute(video.fonts_dir)),
    )


def download_dir(options: RunOptions) -> Path:
    """Where URLs are downloaded (as locally: ``--download-dir``, else the output folder, else here)."""
    return Path(os.path.abspath(options.download_dir or options.output.output_dir or Path.cwd()))


def dataset(ray: ModuleType, spec: RunSpec, shape: Layout, items_per_call: int, decoder: type[Decoder]) -> Any:
    """The three stages over the items' indexes, one block per item so the CPU tasks spread over the cluster."""
    from ray.data import ActorPoolStrategy, TaskPoolStrategy
    from ray.util.annotations import RayDeprecationWarning

    tasks: dict[str, Any] = {
        "fn_kwargs": {"spec": spec},
        "batch_format": "pyarrow",
        "compute": TaskPoolStrategy(),
        "num_cpus": shape.task_cpus,
        "max_retries": TASK_RETRIES,
    }
    actors: dict[str, Any] = {
        "fn_constructor_kwargs": {"spec": spec},
        "batch_size": items_per_call,
        "batch_format": "pyarrow",
        "compute": ActorPoolStrategy(size=shape.actors),
        "num_cpus": shape.cpus,
        "num_gpus": shape.gpus,
        "max_restarts": -1,
        "max_task_retries": ACTOR_TASK_RETRIES,
    }
    rows = [{"index": index} for index in range(len(spec.items))]
    # Ray 2.60 deprecates remote arguments passed as keywords but has no named parameters for the retry bounds yet;
    # its default (unbounded retries) would let an item that kills its worker every time stall the batch forever.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*ray_remote_args.*", RayDeprecationWarning)
        items = ray.data.from_items(rows, override_num_blocks=len(rows))
        return items.map_batches(prepare_rows, **tasks).map_batches(decoder, **actors).map_batches(finish_rows, **tasks)


def arriving(ds: Any) -> Generator[dict[str, Any], None, None]:
    """The dataset's status rows as each block arrives. Not ``iter_rows``: its prefetching holds a row back until
    the next one exists, which delays every item by one and would lose a finished item to an interrupt."""
    batches = iter(ds.iter_batches(batch_size=None, prefetch_batches=0, batch_format="pyarrow"))
    try:
        for batch in batches:
            yield from batch.to_pylist()
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def collect(rows: Iterable[dict[str, Any]], spec: RunSpec, on_event: EventFn) -> RayRun:
    """Read the status rows as they arrive (each an item's events); Ctrl-C stops the run and keeps what finished."""
    results: dict[int, ItemResult] = {}
    engines: list[EngineInfo] = []
    total, interrupted, reason = len(spec.items), False, DROPPED
    try:
        for row in rows:
            index, result, engine = from_status_row(row)
            results[index] = result
            engines.extend([engine] if engine else [])
            on_event(ItemStarted(index, total, result.source))
            on_event(ItemFinished(result))
    except KeyboardInterrupt:
        interrupted = True
    except Exception as exc:  # the dataset itself failed (Ray wraps the cause): the unfinished items fail with it
        log.error("the Ray job failed: %s", _first_line(exc), exc_info=log.isEnabledFor(logging.DEBUG))
        reason = f"the Ray job failed: {_first_line(exc)}"
    ordered = [results.get(i) or (None if interrupted else lost(spec.items[i], reason)) for i in range(total)]
    return RayRun(tuple(r for r in ordered if r is not None), *_engine(engines), interrupted=interrupted)


def lost(item: MediaItem, reason: str) -> ItemResult:
    """The result of an item whose row never came back (its block was dropped, or the dataset failed)."""
    return ItemResult.failed(item.source, f"{item.source}: not finished ({reason}); run the same command again")


def _engine(engines: list[EngineInfo]) -> tuple[str | None, str | None, float]:
    if not engines:
        return None, None, 0.0
    return engines[0].name, engines[0].device, max(e.load_seconds for e in engines)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
