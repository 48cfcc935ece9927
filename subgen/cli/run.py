"""``subgen run``: check the options before any model loads, run the batch, show progress, pick the exit code."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from subgen.cli.app import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, app, err, error_boundary, print_error, settings
from subgen.cli.options import (
    STYLE,
    AssStyleOpt,
    AudioTrackOpt,
    BatchSizeOpt,
    BeamSizeOpt,
    BurnOpt,
    ConditionOpt,
    CrfOpt,
    Device,
    DeviceOpt,
    DownloadDirOpt,
    EmbedOpt,
    Engine,
    EngineOpt,
    FontOpt,
    FontsDirOpt,
    FontSizeOpt,
    FormatOpt,
    InitialPromptOpt,
    InPlaceOpt,
    KeepVideoOpt,
    LanguageOpt,
    MarginOpt,
    MaxCharsOpt,
    MaxCpsOpt,
    MaxDurationOpt,
    MaxLinesOpt,
    MinDurationOpt,
    MinGapOpt,
    ModelOpt,
    OutlineOpt,
    OutputDirOpt,
    OverwriteOpt,
    Position,
    PositionOpt,
    Preset,
    PresetOpt,
    RayActorsOpt,
    RayAddressOpt,
    RayCpusOpt,
    RayGpusOpt,
    RayOpt,
    ReportOpt,
    Task,
    TaskOpt,
    TracksOpt,
    VadOpt,
    WindowOpt,
    cue_options,
    output_options,
    pick,
    video_options,
)
from subgen.cli.progress import ProgressBars, print_summary
from subgen.core.events import Event, ItemFinished
from subgen.core.options import DEFAULT_MODEL, WINDOW_SECONDS, RunOptions, TranscribeOptions, parse_tracks
from subgen.core.results import ItemResult, ItemStatus

if TYPE_CHECKING:
    from subgen.distributed import RayOptions
    from subgen.pipeline.batch import Batch
    from subgen.pipeline.report import RunReport
    from subgen.sources.inputs import MediaItem

InputsArg = Annotated[list[str], typer.Argument(help="Media files, folders, globs, @list.txt files or URLs.")]


@app.command()
def run(
    ctx: typer.Context,
    inputs: InputsArg,
    model: ModelOpt = DEFAULT_MODEL,
    language: LanguageOpt = None,
    task: TaskOpt = Task.TRANSCRIBE,
    initial_prompt: InitialPromptOpt = None,
    device: DeviceOpt = Device.AUTO,
    engine: EngineOpt = Engine.AUTO,
    batch_size: BatchSizeOpt = None,
    window: WindowOpt = WINDOW_SECONDS,
    beam_size: BeamSizeOpt = 5,
    audio_track: AudioTrackOpt = None,
    format: FormatOpt = "srt",
    output_dir: OutputDirOpt = None,
    download_dir: DownloadDirOpt = None,
    overwrite: OverwriteOpt = False,
    report: ReportOpt = None,
    vad: VadOpt = True,
    condition_on_previous_text: ConditionOpt = False,
    preset: PresetOpt = Preset.NETFLIX,
    max_chars: MaxCharsOpt = None,
    max_lines: MaxLinesOpt = None,
    max_cps: MaxCpsOpt = None,
    min_duration: MinDurationOpt = None,
    max_duration: MaxDurationOpt = None,
    min_gap: MinGapOpt = None,
    burn: BurnOpt = False,
    embed: EmbedOpt = False,
    in_place: InPlaceOpt = False,
    keep_video: KeepVideoOpt = False,
    tracks: TracksOpt = None,
    font: FontOpt = STYLE.font,
    font_size: FontSizeOpt = STYLE.font_size,
    outline: OutlineOpt = STYLE.outline,
    position: PositionOpt = Position(STYLE.position),
    margin: MarginOpt = STYLE.margin,
    ass_style: AssStyleOpt = None,
    fonts_dir: FontsDirOpt = None,
    crf: CrfOpt = 18,
    ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    ray_actors: RayActorsOpt = None,
    ray_gpus: RayGpusOpt = None,
    ray_cpus: RayCpusOpt = None,
) -> None:
    """Transcribe INPUTS and write subtitles next to each one (or under --output-dir)."""
    params = dict(locals())  # the parameters are named like the option fields they fill
    import subgen.api as api
    from subgen.sources.inputs import expand_inputs

    with error_boundary():  # usage problems, all found before any model loads
        options = run_options(params)
        on_ray = ray_options(params)
        source = api.check_run(options if on_ray is None else ray_checked(options))
        api.check_destinations(options, report)
        items = expand_inputs(inputs)
    if on_ray is not None:
        raise typer.Exit(run_ray(items, options, on_ray, source.name, settings(ctx).quiet, report))
    raise typer.Exit(run_batch(items, options, source.name, settings(ctx).quiet, report))


def run_options(params: Mapping[str, Any]) -> RunOptions:
    """The ``RunOptions`` that ``run``'s arguments describe (a ``UsageError`` for contradictions)."""
    transcribe = pick(TranscribeOptions, params)
    return RunOptions(
        transcribe=transcribe,
        cues=cue_options(params),
        output=output_options(params),
        download_dir=params["download_dir"],
        video=video_options(params),
        tracks=parse_tracks(params["tracks"], transcribe.task),
    )


def run_batch(items: list[MediaItem], options: RunOptions, model: str, quiet: bool, report_path: Path | None) -> int:
    """Run the batch with progress bars; write ``--report``; the exit code: 0, 1 when any item failed, 130."""
    import subgen.api as api

    progress = ProgressBars(enabled=not quiet)
    finished: list[ItemResult] = []

    def on_event(event: Event) -> None:
        if isinstance(event, ItemFinished):
            finished.append(event.result)
        progress(event)

    batch = api.batch(options, on_event)
    started, interrupted = time.monotonic(), False
    try:
        results = batch.run(items)  # in input order (events arrive as items finish)
    except KeyboardInterrupt:
        results, interrupted = finished, True
    finally:
        progress.close()
    report = _report(batch, results, model, time.monotonic() - started, interrupted)
    return _finish(report, report_path, quiet)


def ray_options(params: Mapping[str, Any]) -> RayOptions | None:
    """``--ray`` and its companions as ``RayOptions`` (None without ``--ray``); a usage error without Ray."""
    if not params["ray"] and params["ray_address"] is None:
        return None
    import logging

    from subgen.distributed import RayOptions, require_ray

    require_ray()
    return RayOptions(
        address=params["ray_address"],
        actors=params["ray_actors"],
        gpus_per_actor=params["ray_gpus"],
        cpus_per_actor=params["ray_cpus"],
        log_level=logging.getLogger("subgen").getEffectiveLevel(),
    )


def ray_checked(options: RunOptions) -> RunOptions:
    """What the driver checks of a Ray run's options (the GPU is the workers' to have, not the driver's)."""
    from subgen.distributed import checked_on_driver

    return checked_on_driver(options)


def run_ray(
    items: list[MediaItem], options: RunOptions, on_ray: RayOptions, model: str, quiet: bool, report_path: Path | None
) -> int:
    """``run_batch`` on a Ray cluster: the same progress, ``--report``, summary and exit codes."""
    from subgen.distributed import RayProgress, run_on_ray
    from subgen.pipeline.report import RunReport

    progress = RayProgress(enabled=not quiet)
    started = time.monotonic()
    try:
        with error_boundary():  # a cluster that cannot be reached or cannot hold the actors: before any work
            outcome = run_on_ray(items, options, on_ray, progress)
    finally:
        progress.close()
    wall = time.monotonic() - started
    report = RunReport(
        outcome.results, wall, model, outcome.engine, outcome.device, outcome.interrupted, outcome.load_seconds
    )
    return _finish(report, report_path, quiet)


def _finish(report: RunReport, report_path: Path | None, quiet: bool) -> int:
    """Write ``--report`` (checked before the run; a failure now still leaves the summary and exit code 1)."""
    from subgen.core.errors import OutputError

    code = _exit_code(report, quiet)
    if report_path is not None:
        try:
            report.write_json(report_path)
        except OutputError as exc:
            print_error(str(exc))
            return max(code, EXIT_FAILED)
    return code


def _report(batch: Batch, results: list[ItemResult], model: str, wall: float, interrupted: bool) -> RunReport:
    from subgen.pipeline.report import RunReport

    engine = batch.engine
    return RunReport(
        tuple(results),
        wall,
        model,
        engine.name if engine else None,
        engine.device if engine else None,
        interrupted,
        batch.load_seconds,
    )


def _exit_code(report: RunReport, quiet: bool) -> int:
    if report.interrupted:
        err.print("interrupted: finished subtitles are kept; run the same command again to continue")
        return EXIT_INTERRUPTED
    if not quiet:
        print_summary(report)
    return EXIT_FAILED if report.count(ItemStatus.FAILED) else EXIT_OK
