"""Subtitle quality of subgen next to openai-whisper's own CLI, on long-form videos with known speech times.

Usage: python benchmarks/quality.py [--model tiny.en] [--work DIR] [--corpus ../shared/corpus]

Builds long-form English videos from ../shared/corpus utterances joined with known pauses and a stretch of
noise and tone (benchmarks/longform.py; the reference SRT has one cue per utterance), runs each system on
them with the same weights (subgen's bundled model, converted once for openai-whisper) and prints, side by
side: WER, CER, netflix-preset conformance (subgen check), median and 90th-percentile cue-start error,
cues on non-speech and wall time (whole command, model load included), then the issue's pass/fail bars.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.longform import DEFAULT_STEMS, LongForm, build_longform
from subgen.core.options import PRESETS
from subgen.core.types import Cue
from subgen.evaluate.continuity import continuity
from subgen.evaluate.rates import error_rates
from subgen.evaluate.timing import timing_errors
from subgen.subtitles.check import check_file
from subgen.subtitles.io import read_cues

SECOND_STEMS = (
    "en_librispeech_1089-134691-0000",
    "en_ljspeech_LJ001-0002",
    "en_fleurs_004",
    "en_ljspeech_LJ001-0004",
    "en_librispeech_1089-134686-0001",
    "en_osr_us_000_0011_harvard_list02",
    "en_ljspeech_LJ001-0006",
    "en_jfk_inaugural_excerpt",
    "en_ljspeech_LJ001-0008",
    "en_fleurs_003",
    "en_kennedy_moon_1961_excerpt",
)
"""A second long-form file: other clips (incl. 8 kHz telephone speech), other pauses, other non-speech."""
SECOND_PAUSES = (1.5, 0.4, 6.0, 0.6, 1.2)
SECOND_NONSPEECH = ((4, "brown", 8.0), (4, "chord", 6.0), (8, "white", 6.0))

LONGFORM_FILES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("long-form A", {"stems": DEFAULT_STEMS}),
    ("long-form B", {"stems": SECOND_STEMS, "pauses": SECOND_PAUSES, "nonspeech": SECOND_NONSPEECH}),
)
"""The two long-form files: a name and ``build_longform``'s keyword arguments (the first uses its defaults)."""


@dataclass(frozen=True)
class System:
    """One way of producing an SRT for a video: a name and a command builder (video, out dir) -> argv."""

    name: str
    argv: Callable[[Path, Path], list[str]]
    srt_name: Callable[[Path], str]


@dataclass(frozen=True)
class Row:
    """One system's figures on one long-form file."""

    system: str
    wer: float
    cer: float
    lost: int
    repeated: int
    displaced: int
    conformance: float
    start_median: float | None
    start_p90: float | None
    nonspeech_cues: int
    gap_cues: int
    cues: int
    wall: float


def whisper_cli(checkpoint: Path) -> list[str]:
    """openai-whisper's CLI on ``checkpoint``, English, SRT out, fp32 on the CPU; audio and --output_dir to add."""
    return [sys.executable, "-m", "whisper", "--model", str(checkpoint), "--language", "en",
            "--output_format", "srt", "--fp16", "False", "--device", "cpu", "--verbose", "False"]  # fmt: skip


def systems(model: str, checkpoint: Path) -> list[System]:
    """subgen (defaults, and without VAD) and openai-whisper's CLI (defaults, and its own line limits)."""
    subgen = [sys.executable, "-m", "subgen", "-q", "run", "--model", model, "--format", "srt", "--overwrite"]
    whisper = whisper_cli(checkpoint)
    readable = ["--word_timestamps", "True", "--max_line_width", "42", "--max_line_count", "2"]
    return [
        System("subgen", lambda v, o: [*subgen, str(v), "-o", str(o)], lambda v: f"{v.stem}.en.srt"),
        System(
            "subgen --no-vad", lambda v, o: [*subgen, "--no-vad", str(v), "-o", str(o)], lambda v: f"{v.stem}.en.srt"
        ),
        System("whisper CLI", lambda v, o: [*whisper, str(v), "--output_dir", str(o)], lambda v: f"{v.stem}.srt"),
        System(
            "whisper CLI, word timestamps, 42x2",
            lambda v, o: [*whisper, *readable, str(v), "--output_dir", str(o)],
            lambda v: f"{v.stem}.srt",
        ),
    ]


def _overlaps(cue: Cue, spans: tuple[tuple[float, float], ...]) -> bool:
    return any(cue.start < b and cue.end > a for a, b in spans)


def measure(system: System, longform: LongForm, work: Path) -> Row:
    """Run one system on one file and score its SRT."""
    out = work / system.name.replace(" ", "_").replace(",", "")
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    subprocess.run(system.argv(longform.video, out), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - started
    srt = out / system.srt_name(longform.video)
    cues = read_cues(srt)
    rates = error_rates([longform.text], [" ".join(c.text for c in cues)], "en")
    reference = read_cues(longform.reference_srt)
    timing, found = timing_errors(reference, cues), continuity(reference, cues)
    conformance = check_file(srt, PRESETS["netflix"]).result.conformance
    return Row(
        system.name,
        rates.wer,
        rates.cer,
        len(found.lost),
        len(found.repeated),
        len(found.displaced),
        conformance,
        timing.start_error(0.5),
        timing.start_error(0.9),
        sum(1 for c in cues if _overlaps(c, longform.nonspeech)),
        timing.cues_in_gaps,
        len(cues),
        wall,
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(name: str, longform: LongForm, rows: list[Row]) -> str:
    """A Markdown table of the rows, with WER and wall time relative to the first openai-whisper row."""
    peer = next(r for r in rows if r.system.startswith("whisper"))
    lines = [
        f"### {name}: {longform.duration:.0f} s, {len(longform.utterances)} utterances, "
        f"{sum(b - a for a, b in longform.nonspeech):.0f} s of noise/tone",
        "",
        "| system | WER | CER | lost utterances | repeated text | displaced words | netflix conformance "
        "| cue-start error median / p90 (s) | cues on non-speech "
        "| cues in >5 s gaps | cues | wall (s) | WER vs whisper CLI | wall vs whisper CLI |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.system} | {r.wer:.1%} | {r.cer:.1%} | {r.lost} | {r.repeated} | {r.displaced} "
            f"| {r.conformance:.1%} | {_seconds(r.start_median)} / "
            f"{_seconds(r.start_p90)} | {r.nonspeech_cues} | {r.gap_cues} | {r.cues} | {r.wall:.1f} | "
            f"{(r.wer - peer.wer) * 100:+.1f} pt | {r.wall / peer.wall:.2f}x |"
        )
    return "\n".join(lines)


def bars(rows: list[Row]) -> list[str]:
    """The issue's done-when bars for subgen's defaults on one file, as PASS/FAIL lines."""
    ours = next(r for r in rows if r.system == "subgen")
    best = min(r.wer for r in rows if r.system in ("subgen --no-vad", "whisper CLI"))
    checks = [
        ("netflix conformance >= 99%", ours.conformance >= 0.99),
        ("median cue-start error <= 0.2 s", ours.start_median is not None and ours.start_median <= 0.2),
        ("0 cues on non-speech", ours.nonspeech_cues == 0),
        ("0 lost utterances, 0 repeated text, 0 displaced words", ours.lost + ours.repeated + ours.displaced == 0),
        ("WER <= 0.95 x the best of --no-vad and whisper CLI", ours.wer <= 0.95 * best),
    ]
    return [f"- {'PASS' if ok else 'FAIL'}: {label}" for label, ok in checks]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en", help="bundled model both systems use (default tiny.en)")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--work", type=Path, default=None, help="keep media and outputs here (default: temp)")
    args = parser.parse_args()
    from subgen.asr.models import openai_checkpoint_path, resolve

    checkpoint = openai_checkpoint_path(resolve(args.model))
    work = args.work or Path(tempfile.mkdtemp(prefix="subgen-quality-"))
    all_ok = True
    print(f"model {args.model}; machine: {_machine()}\n")
    for name, kwargs in LONGFORM_FILES:
        slug = name.replace(" ", "-")
        longform = build_longform(args.corpus, work / slug, name=slug, **kwargs)
        rows = [measure(s, longform, work / slug) for s in systems(args.model, checkpoint)]
        print(table(name, longform, rows))
        verdicts = bars(rows)
        all_ok &= not any("FAIL" in v for v in verdicts)
        print("\n".join(["", *verdicts, ""]))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all_ok else 1


def _machine() -> str:
    import os
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


if __name__ == "__main__":
    raise SystemExit(main())
