"""``subgen eval`` (error rates against a reference) and ``subgen check`` (lint against readability limits)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from subgen.cli.app import EXIT_FAILED, EXIT_OK, app, err, error_boundary
from subgen.cli.options import (
    CheckLanguageOpt,
    EvalLanguageOpt,
    FpsOpt,
    JsonOpt,
    MaxCharsOpt,
    MaxCpsOpt,
    MaxDurationOpt,
    MaxLinesOpt,
    MinConformanceOpt,
    MinDurationOpt,
    MinGapOpt,
    Preset,
    PresetOpt,
    cue_options,
)
from subgen.core.errors import UsageError

if TYPE_CHECKING:
    from subgen.evaluate.continuity import Continuity
    from subgen.evaluate.rates import ErrorRates
    from subgen.evaluate.score import FileScore
    from subgen.evaluate.timing import TimingErrors
    from subgen.subtitles.check import CheckResult, FileCheck

ReferenceArg = Annotated[Path, typer.Argument(help="Reference file or folder (txt, srt, vtt or subgen json).")]
HypothesisArg = Annotated[Path, typer.Argument(help="Hypothesis file or folder, matched to references by stem.")]
SubsArg = Annotated[
    list[Path],
    typer.Argument(help="Subtitle files (srt, vtt, subgen json) or folders (their srt and vtt files, recursively)."),
]


@app.command("eval")
def eval_(
    reference: ReferenceArg, hypothesis: HypothesisArg, language: EvalLanguageOpt = None, as_json: JsonOpt = False
) -> None:
    """Error rates of HYPOTHESIS against REFERENCE per file and in total, and cue timing errors when both have times."""
    from subgen.evaluate.score import score

    with error_boundary():
        scores = score(reference, hypothesis, language)
    if as_json:
        typer.echo(json.dumps(_eval_dict(scores), ensure_ascii=False, indent=2))
    else:
        _print_eval(scores)


def _eval_dict(scores: list[FileScore]) -> dict:
    from subgen.evaluate.score import corpus_continuity, corpus_rates, corpus_timing

    total, timing, pooled = corpus_rates(scores), corpus_timing(scores), corpus_continuity(scores)
    rows = [
        {
            "key": s.key,
            "reference": str(s.reference),
            "hypothesis": str(s.hypothesis),
            "language": s.language,
            **_rates_dict(s.rates),
            "timing": s.timing.to_dict() if s.timing else None,
            "continuity": s.continuity.to_dict() if s.continuity else None,
        }
        for s in scores
    ]
    totals = {"timing": timing.to_dict() if timing else None, "continuity": pooled.to_dict() if pooled else None}
    return {"files": rows, "total": {**_rates_dict(total), **totals}}


def _print_eval(scores: list[FileScore]) -> None:
    from subgen.evaluate.score import corpus_continuity, corpus_rates, corpus_timing

    table = Table(title="subgen eval", title_justify="left")
    for column in ("file", "lang", "WER", "CER", "S", "D", "I", "words"):
        table.add_column(column, justify="left" if column in ("file", "lang") else "right")
    for s in scores:
        table.add_row(escape(s.key), s.language, *_rates_cells(s.rates))
    table.add_row("[bold]total[/]", "", *_rates_cells(corpus_rates(scores)))
    Console().print(table)
    timing = corpus_timing(scores)
    if timing is not None:
        Console().print(_timing_table(scores, timing))
    pooled = corpus_continuity(scores)
    if pooled is not None:
        Console().print(_continuity_table(scores, pooled))


def _continuity_table(scores: list[FileScore], pooled: Continuity) -> Table:
    table = Table(title="lost, repeated, displaced (counts)", title_justify="left")
    table.add_column("file")
    for column in ("ref cues", "lost utterances", "repeated text", "displaced words"):
        table.add_column(column.replace(" ", "\n"), justify="right")
    for s in scores:
        table.add_row(escape(s.key), *_continuity_cells(s.continuity))
    table.add_row("[bold]total[/]", *_continuity_cells(pooled))
    return table


def _continuity_cells(c: Continuity | None) -> list[str]:
    if c is None:
        return ["-"] * 4
    return [str(n) for n in (c.reference_cues, len(c.lost), len(c.repeated), len(c.displaced))]


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
    counts = (r.substitutions, r.deletions, r.insertions, r.reference_words)
    return [f"{r.wer:.3f}", f"{r.cer:.3f}", *(str(n) for n in counts)]


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
    subs: SubsArg,
    preset: PresetOpt = Preset.NETFLIX,
    max_chars: MaxCharsOpt = None,
    max_lines: MaxLinesOpt = None,
    max_cps: MaxCpsOpt = None,
    min_duration: MinDurationOpt = None,
    max_duration: MaxDurationOpt = None,
    min_gap: MinGapOpt = None,
    fps: FpsOpt = None,
    language: CheckLanguageOpt = None,
    min_conformance: MinConformanceOpt = 0.99,
    as_json: JsonOpt = False,
) -> None:
    """Lint subtitle files against a preset's limits: violations per rule and each file's conformance."""
    params = dict(locals())  # the limit flags are named like the CueOptions fields they fill
    from subgen.subtitles.check import check_paths

    with error_boundary():
        limits = cue_options(params)
        if not 0 <= min_conformance <= 1:
            raise UsageError(f"--min-conformance is a share of cues in [0, 1], not {min_conformance}")
        files = check_paths(subs, limits, language)
    below = [f for f in files if f.result.conformance < min_conformance]
    _print_check(files, limits.preset, min_conformance, as_json)
    for f in below:
        err.print(
            f"{escape(str(f.path))}: {f.result.conformance:.2%} of cues conform, "
            f"below --min-conformance {min_conformance:.2%}",
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(EXIT_FAILED if below else EXIT_OK)


def _print_check(files: list[FileCheck], preset: str, min_conformance: float, as_json: bool) -> None:
    from subgen.subtitles.check import total

    summed = total([f.result for f in files])
    if not as_json:
        Console().print(_check_table(files, summed))
        return
    payload = {
        "preset": preset,
        "min_conformance": min_conformance,
        "passed": all(f.result.conformance >= min_conformance for f in files),
        "files": [f.to_dict() for f in files],
        "total": summed.to_dict(),
    }
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


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
