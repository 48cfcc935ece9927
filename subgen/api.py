"""The public Python API every driver uses: ``transcribe`` one file, ``run_batch`` many, engines kept warm.

    import subgen

    result = subgen.transcribe("talk.mp4", model="tiny.en")
    print(result.language, result.text)
    print(result.render("srt"))

    results = subgen.run_batch(["videos/"], subgen.RunOptions(), on_event=print)

The engine for a model is loaded on first use and kept for the next call with the same model, engine, device
and batch size, so a script or a service that transcribes many files loads it once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from subgen.asr.batching import WindowBatcher
from subgen.asr.engines.base import Engine
from subgen.asr.models import ModelSource
from subgen.core.errors import UsageError
from subgen.core.events import AudioProgress, EventFn, ignore
from subgen.core.options import RunOptions, TranscribeOptions
from subgen.core.paths import check_file_target, check_folder
from subgen.core.results import ItemResult
from subgen.core.types import Cue, Segment, Transcript
from subgen.pipeline import finish
from subgen.pipeline.batch import Batch
from subgen.pipeline.decode import language_finder, start_pass
from subgen.pipeline.engine import EngineCache
from subgen.pipeline.prepare import load_audio
from subgen.pipeline.scratch import scratch_dir
from subgen.sources.inputs import expand_inputs
from subgen.subtitles.writers import WRITERS, Document


@dataclass(frozen=True)
class Result:
    """One file's subtitles: the cleaned transcript and its readable cues, renderable in any output format."""

    source: Path
    document: Document

    @property
    def language(self) -> str:
        """The spoken (or, for translations, the subtitle) language code."""
        return self.document.transcript.language

    @property
    def text(self) -> str:
        """The whole transcript as plain text."""
        return self.document.transcript.text

    @property
    def cues(self) -> tuple[Cue, ...]:
        """The readable cues, as the subtitle files show them."""
        return self.document.cues

    @property
    def segments(self) -> tuple[Segment, ...]:
        """Whisper's segments with their words, on the file's timeline."""
        return self.document.transcript.segments

    @property
    def transcript(self) -> Transcript:
        """The cleaned transcript the cues were built from."""
        return self.document.transcript

    def render(self, format: str) -> str:
        """The subtitles in ``format`` (srt, vtt, json, txt or ass), as the batch would write them."""
        if format not in WRITERS:
            raise UsageError(f"unknown format '{format}'; choose from {', '.join(WRITERS)}")
        return WRITERS[format].render(self.document)


def resolve_model(options: TranscribeOptions) -> ModelSource:
    """The model ``options`` name, checked against the task and device (a ``UsageError`` before any load)."""
    from subgen.asr.engines import gpu_visible, pick_engine
    from subgen.asr.models import resolve

    source = resolve(options.model)
    engine = pick_engine(options.engine, source)
    if options.device == "cuda" and not gpu_visible(engine):
        raise UsageError(
            f"--device cuda: {engine} sees no CUDA GPU; use --device cpu or auto"
        )
    if source.english_only and (options.task == "translate" or options.language not in (None, "en")):
        raise UsageError(
            f"model '{source.name}' is English-only; use --model base for "
            f"--language {options.language or 'auto'} / --task {options.task}"
        )
    return source


def check_run(options: RunOptions) -> ModelSource:
    """Every problem of ``options`` that must stop a run before any model loads; returns the model's source."""
    source = resolve_model(options.transcribe)
    if source.english_only and any(p.task == "translate" for p in options.passes()):
        raise UsageError(f"model '{source.name}' is English-only and cannot translate; use --model base for --tracks")
    if options.video.burn:
        from subgen.video.mux import check_burn_support

        check_burn_support()
    return source


def check_destinations(options: RunOptions, report: Path | None = None) -> None:
    """Every place the run will write, checked before any model loads: the output and download folders and the
    report file (an item's own folder is checked when the item is prepared). Raises ``OutputError``."""
    if options.output.output_dir is not None:
        check_folder(options.output.output_dir, "the output folder")
    if options.download_dir is not None:
        check_folder(options.download_dir, "the download folder")
    if report is not None:
        check_file_target(report, "the report")


def load_engine(options: TranscribeOptions) -> Engine:
    """Load the engine ``options`` ask for (heavy imports happen here)."""
    from subgen.asr.engines import engine_for

    return engine_for(options, resolve_model(options))


ENGINES = EngineCache(load_engine)
"""The engine kept warm between calls (one model at a time)."""


def run_batch(
    inputs: Sequence[str | Path], options: RunOptions | None = None, on_event: EventFn = ignore
) -> list[ItemResult]:
    """Subtitle every input (files, folders, globs, ``@lists``, URLs) and write the files; one result per item,
    in input order. A failed item never stops the batch; existing outputs are skipped unless ``overwrite``."""
    options = options or RunOptions()
    check_run(options)
    check_destinations(options)
    return batch(options, on_event).run(expand_inputs([str(i) for i in inputs]))


def batch(options: RunOptions, on_event: EventFn = ignore) -> Batch:
    """A ``Batch`` that decodes with the warm engine (for drivers that want its engine and timing afterwards)."""
    return Batch(options, lambda: ENGINES.get(options.transcribe), on_event)


def transcribe(
    path: str | Path, *, options: RunOptions | None = None, on_event: EventFn = ignore, **fields: Any
) -> Result:
    """Subtitles for one local media file, nothing written; ``fields`` override ``TranscribeOptions`` (``model``,
    ``language``, ``task``, ``initial_prompt``, ``device``, ``vad``, ``beam_size``, ``engine``, ...)."""
    options = _with_fields(options or RunOptions(), fields)
    resolve_model(options.transcribe)
    opts = options.transcribe
    with scratch_dir() as scratch:
        audio = load_audio(Path(path), scratch, opts)
        total = audio.clip.duration
        batcher = WindowBatcher(lambda: ENGINES.get(opts))
        progress = lambda done: on_event(AudioProgress(min(done, total), total))  # noqa: E731
        job = start_pass(batcher, audio, opts, language_finder(audio, batcher.engine), progress)
        batcher.pump(flush=True)
        if job.error is not None:
            raise job.error
        doc = finish.document(job, audio, options.cues, options.video.style)
    on_event(AudioProgress(total, total))
    return Result(Path(path), doc)


def _with_fields(options: RunOptions, fields: dict[str, Any]) -> RunOptions:
    known = {f.name for f in dataclasses.fields(TranscribeOptions)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise UsageError(
            f"transcribe() got unknown option(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}"
        )
    return replace(options, transcribe=replace(options.transcribe, **fields))
