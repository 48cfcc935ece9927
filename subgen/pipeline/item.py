"""One item's steps between preparing and reporting, shared by every driver (the local ``Batch``, the Ray
runner): start its passes on a batcher, finish a decoded pass into files, and the guard that turns any error of
a step into that item's failed result."""

from __future__ import annotations

import logging
from collections.abc import Callable

from subgen.asr.batching import DecodeJob, WindowBatcher
from subgen.asr.engines.base import Engine, ProgressFn
from subgen.core.errors import SubgenError
from subgen.core.options import RunOptions, TranscribeOptions
from subgen.core.results import ItemResult
from subgen.pipeline import finish
from subgen.pipeline.decode import language_finder, start_pass
from subgen.pipeline.prepare import Pass, Ready

log = logging.getLogger(__name__)

Started = DecodeJob | ItemResult
"""What starting a pass gives: its decode job, or (files already there) its result."""


def guarded(source: str, step: Callable[[], ItemResult]) -> ItemResult:
    """Run one per-item step; an error, a bug included, becomes this item's failed result, never the batch's."""
    try:
        return step()
    except SubgenError as exc:
        log.error("%s", exc)
        return ItemResult.failed(source, str(exc))
    except Exception as exc:  # a bug must not lose the rest of the batch
        log.exception("%s: unexpected error", source)
        return ItemResult.failed(source, f"{source}: internal error: {exc!r}")


def verified(ready: Ready, plan: Pass, language: Callable[[TranscribeOptions], str]) -> ItemResult | None:
    """The pass's existing files when the item's detected language is one they are in (detection may fail: then
    the pass is decoded and fails or succeeds there)."""
    if not ready.audio.windows:
        return None
    try:
        return finish.verified_pass(plan, language(plan.options), ready.item.source)
    except SubgenError:
        return None


def start_item(
    batcher: WindowBatcher, ready: Ready, engine: Callable[[], Engine], progress: ProgressFn
) -> list[Started]:
    """Each pass of ``ready``: a skipped result when its files exist (in the language it will have, detected once
    if needed), else its decode job, queued on ``batcher`` (``batcher.pump`` returns it when done)."""
    language = language_finder(ready.audio, engine)
    started: list[Started] = []
    for plan in ready.passes:
        if plan.done:
            started.append(finish.skipped_pass(plan, ready.item.source))
        elif plan.unverified and (found := verified(ready, plan, language)) is not None:
            started.append(found)
        else:
            started.append(start_pass(batcher, ready.audio, plan.options, language, progress))
    return started


def finish_pass(ready: Ready, number: int, job: DecodeJob, options: RunOptions) -> ItemResult:
    """A decoded pass as files: cleaned transcript, readable cues, every format written atomically."""
    if job.error is not None:
        raise job.error
    doc = finish.document(job, ready.audio, options.cues, options.video.style)
    plan, source = ready.passes[number], ready.item.source
    return finish.write_pass(doc, plan, options.output.formats, source, ready.audio.warnings)
