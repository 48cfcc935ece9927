"""Every sentence, once, on time: subgen's defaults, ``--no-vad`` and openai-whisper's CLI on the development set.

Usage: python benchmarks/devset_quality.py [--model tiny.en] [--work devset] [--systems subgen,no-vad,cli]
       [--groups tuning,report,A,B] [--per-file] [--rerun-peers] [--score-only] [--subgen-options OPTS]

Groups: the tuning and report halves of ``benchmarks/devset.py`` and long-form files A and B of
``benchmarks/quality.py``. Each system runs once over every file of the chosen groups (one process, model loaded
once, same ``tiny.en`` weights, converted once for openai-whisper); the peers' SRTs are kept in ``--work`` and
reused on the next run unless ``--rerun-peers`` (they do not change when subgen does). Per group and system:
pooled WER, lost utterances, repeated text and displaced words (``subgen.evaluate.continuity``), the lowest
per-file netflix conformance, the pooled median cue-start error, cues on the generated non-speech stretches and
the wall time of the whole command (all groups together); then issue 15's bars for the defaults. Tune on the
tuning half only; the report half is for reporting.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.devset import SEEDS, build_half
from benchmarks.longform import LongForm, build_longform
from benchmarks.quality import LONGFORM_FILES, whisper_cli
from subgen.core.options import PRESETS
from subgen.core.types import Cue
from subgen.evaluate.continuity import Continuity, continuity, pool_continuity
from subgen.evaluate.rates import error_rates
from subgen.evaluate.timing import TimingErrors, pool_timing, timing_errors
from subgen.subtitles.check import check_file
from subgen.subtitles.io import read_cues

SYSTEMS = ("subgen", "no-vad", "cli")
LABELS = {"subgen": "subgen (defaults)", "no-vad": "subgen --no-vad", "cli": "whisper CLI"}
PEERS = ("no-vad", "cli")


@dataclass(frozen=True)
class FileResult:
    """One system's SRT for one file, scored."""

    name: str
    reference: str
    hypothesis: str
    found: Continuity
    timing: TimingErrors
    conformance: float
    nonspeech_cues: int


def argv(system: str, model: str, videos: Sequence[Path], out: Path, extra: Sequence[str] = ()) -> list[str]:
    """The command that writes one SRT per video into ``out`` (``extra``: more options for subgen's defaults)."""
    if system == "cli":
        from subgen.asr.models import openai_checkpoint_path, resolve

        return [*whisper_cli(openai_checkpoint_path(resolve(model))), *map(str, videos), "--output_dir", str(out)]
    subgen = [sys.executable, "-m", "subgen", "-q", "run", "--model", model, "--format", "srt", "--overwrite"]
    flags = ["--no-vad"] if system == "no-vad" else list(extra)
    return [*subgen, *flags, *map(str, videos), "-o", str(out)]


def srt_of(system: str, out: Path, video: Path) -> Path:
    """Where ``system`` writes the SRT of ``video``."""
    name = f"{video.stem}.srt" if system == "cli" else f"{video.stem}.en.srt"
    # subgen mirrors the input folders under -o (only when they differ), so an earlier run's copy may be there too
    found = sorted(out.rglob(name), key=lambda p: p.stat().st_mtime, reverse=True)
    return found[0] if found else out / name


def run(
    system: str, model: str, files: Sequence[LongForm], out: Path, reuse: bool, extra: Sequence[str] = ()
) -> float | None:
    """Run ``system`` over ``files`` (or reuse its SRTs); the wall time, None when reused."""
    if reuse and all(srt_of(system, out, f.video).is_file() for f in files):
        return None
    out.mkdir(parents=True, exist_ok=True)
    print(f"running {LABELS[system]} on {len(files)} files ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    subprocess.run(argv(system, model, [f.video for f in files], out, extra), check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def _on(cue: Cue, spans: Sequence[tuple[float, float]]) -> bool:
    return any(cue.start < b and cue.end > a for a, b in spans)


def score(longform: LongForm, srt: Path) -> FileResult:
    """WER inputs, continuity, timing, conformance and cues on non-speech of one SRT."""
    cues, reference = read_cues(srt), read_cues(longform.reference_srt)
    return FileResult(
        longform.video.stem,
        longform.text,
        " ".join(c.text.replace("\n", " ") for c in cues),
        continuity(reference, cues),
        timing_errors(reference, cues),
        check_file(srt, PRESETS["netflix"]).result.conformance,
        sum(1 for c in cues if _on(c, longform.nonspeech)),
    )


@dataclass(frozen=True)
class Summary:
    """One system's figures over one group of files."""

    system: str
    wer: float
    words: int
    found: Continuity
    min_conformance: float
    start_median: float | None
    nonspeech_cues: int

    @classmethod
    def of(cls, system: str, results: Sequence[FileResult]) -> Summary:
        """Pooled over ``results``."""
        rates = error_rates([r.reference for r in results], [r.hypothesis for r in results], "en")
        found = pool_continuity([r.found for r in results])
        timing = pool_timing([r.timing for r in results])
        assert found is not None and timing is not None
        conformance = min(r.conformance for r in results)
        nonspeech = sum(r.nonspeech_cues for r in results)
        return cls(system, rates.wer, rates.reference_words, found, conformance, timing.start_error(0.5), nonspeech)


def _counts(found: Continuity) -> str:
    return f"{len(found.lost)} | {len(found.repeated)} | {len(found.displaced)}"


def group_table(group: str, files: int, rows: Sequence[Summary], walls: dict[str, float | None]) -> str:
    """Markdown: one row per system over one group."""
    lines = [
        f"### {group}: {files} files, {rows[0].words} words",
        "",
        "| system | WER | lost utterances | repeated text | displaced words | netflix conformance (lowest file) "
        "| cue-start error median (s) | cues on non-speech | wall, all groups (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        wall = walls.get(r.system)
        median = "-" if r.start_median is None else f"{r.start_median:.2f}"
        lines.append(
            f"| {LABELS[r.system]} | {r.wer:.1%} | {_counts(r.found)} | {r.min_conformance:.1%} | {median} "
            f"| {r.nonspeech_cues} | {'reused' if wall is None else f'{wall:.1f}'} |"
        )
    return "\n".join(lines)


def file_table(results: dict[str, list[FileResult]]) -> str:
    """Markdown: WER and lost / repeated / displaced per file and system."""
    systems = list(results)
    lines = ["| file | " + " | ".join(LABELS[s] for s in systems) + " |", "|---|" + "---|" * len(systems)]
    for i, first in enumerate(results[systems[0]]):
        cells = []
        for s in systems:
            r = results[s][i]
            wer = error_rates([r.reference], [r.hypothesis], "en").wer
            cells.append(f"{wer:.1%} ({len(r.found.lost)}/{len(r.found.repeated)}/{len(r.found.displaced)})")
        lines.append(f"| {first.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bars(rows: Sequence[Summary]) -> list[str]:
    """Issue 15's done-when bars for the defaults on one group, as PASS/FAIL lines."""
    ours = next(r for r in rows if r.system == "subgen")
    peers = [r.wer for r in rows if r.system in PEERS]
    checks = [
        ("0 lost utterances, 0 repeated text, 0 displaced words", _counts(ours.found) == "0 | 0 | 0"),
        ("netflix conformance >= 99 % in every file", ours.min_conformance >= 0.99),
        ("median cue-start error <= 0.2 s", ours.start_median is not None and ours.start_median <= 0.2),
        ("0 cues on non-speech", ours.nonspeech_cues == 0),
    ]
    if peers:
        checks.append((f"WER <= 0.95 x best peer ({min(peers):.1%})", ours.wer <= 0.95 * min(peers)))
    return [f"- {'PASS' if ok else 'FAIL'}: {label}" for label, ok in checks]


def build_groups(corpus: Path, work: Path, groups: Sequence[str]) -> dict[str, list[LongForm]]:
    """The chosen groups' files (built once into ``work`` and reused)."""
    built: dict[str, list[LongForm]] = {}
    for group in groups:
        if group in SEEDS:
            built[group] = build_half(corpus, group, work)
            continue
        kwargs = next(kw for n, kw in LONGFORM_FILES if n.split()[-1] == group)
        built[group] = [build_longform(corpus, work / "ab", name=group, **kwargs)]
    return built


def main(args_in: Sequence[str] | None = None) -> int:
    """Build, run every system once, print a table per group and the bars."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--work", type=Path, default=Path("devset"))
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--groups", default="tuning,report,A,B")
    parser.add_argument("--per-file", action="store_true", help="also print WER and counts per file")
    parser.add_argument("--rerun-peers", action="store_true", help="run --no-vad and the CLI again")
    parser.add_argument("--score-only", action="store_true", help="score every system's SRTs already in --work")
    parser.add_argument("--subgen-options", default="", help="more options for subgen's defaults, e.g. '--window 22'")
    args = parser.parse_args(args_in)
    systems, groups = args.systems.split(","), args.groups.split(",")
    built = build_groups(args.corpus, args.work, groups)
    files = [f for group in groups for f in built[group]]
    walls = {}
    for system in systems:
        reuse = args.score_only or (system in PEERS and not args.rerun_peers)
        extra = args.subgen_options.split()
        walls[system] = run(system, args.model, files, args.work / "out" / system, reuse, extra)
    print(f"model {args.model}; " + "; ".join(f"{g}: {len(built[g])} files" for g in groups) + "\n")
    ok = True
    for group in groups:
        results = {s: [score(f, srt_of(s, args.work / "out" / s, f.video)) for f in built[group]] for s in systems}
        rows = [Summary.of(s, results[s]) for s in systems]
        print(group_table(group, len(built[group]), rows, walls))
        if args.per_file:
            print("\n" + file_table(results))
        verdicts = bars(rows) if "subgen" in systems else []
        ok &= not any("FAIL" in v for v in verdicts)
        print("\n".join(["", *verdicts, ""]))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
