"""Speed and memory of subgen next to openai-whisper's CLI and faster-whisper, same weights, same inputs, one run.

Usage: python benchmarks/speed.py [--model tiny.en] [--work DIR] [--systems NAME,NAME] [--quick] [--corpus DIR]

Inputs: the two long-form videos of benchmarks/quality.py and a folder of short videos, one per English corpus
utterance the long-form files leave out. Each system runs as one subprocess over all inputs (its model loaded
once); wall time is taken around that subprocess and its peak RSS comes from ``os.wait4``. Prints a Markdown
table (wall time, realtime factor, peak RSS, pooled WER, netflix-preset conformance, subgen's speed-up and the
RSS ratio against each system), the issue's pass/fail bars and the machine. A system that fails shows its error
in its row; the others still run. ``--quick`` runs on a few short clips only (a smoke test).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.longform import build_longform, corpus_media, encode_video, reference
from benchmarks.quality import LONGFORM_FILES, whisper_cli
from subgen.asr.models import ModelSource, openai_checkpoint_path, resolve
from subgen.audio.media import extract_audio, probe
from subgen.core.options import PRESETS
from subgen.core.paths import split_language_suffix
from subgen.evaluate.rates import error_rates
from subgen.subtitles.check import check_file, total
from subgen.subtitles.io import read_cues, read_text

SUBGEN = "subgen"
SUBGEN_FW = "subgen --engine faster-whisper"
SUBGEN_OW = "subgen --engine openai-whisper"
WHISPER_CLI = "openai-whisper CLI"
FW_SEQUENTIAL = "faster-whisper sequential"
FW_BATCHED = "faster-whisper batched"
SYSTEM_NAMES = (SUBGEN, SUBGEN_FW, SUBGEN_OW, WHISPER_CLI, FW_SEQUENTIAL, FW_BATCHED)

QUICK_CLIPS = 3
"""How many short clips ``--quick`` uses."""
MIN_SPEEDUP_VS_WHISPER_CLI = 8.0


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Item:
    """One input file, the reference text of everything said in it, and its length in seconds."""

    media: Path
    reference: str
    seconds: float


@dataclass(frozen=True)
class Inputs:
    """The long-form videos, and the folder of short clips with the clips in it."""

    longforms: tuple[Item, ...]
    clip_dir: Path
    clips: tuple[Item, ...]

    @property
    def items(self) -> tuple[Item, ...]:
        """Every input file."""
        return (*self.longforms, *self.clips)

    @property
    def seconds(self) -> float:
        """Total audio length of the inputs."""
        return sum(i.seconds for i in self.items)

    def files(self) -> list[str]:
        """Every input as a file path (for tools that take files only)."""
        return [str(i.media) for i in self.items]

    def files_and_folder(self) -> list[str]:
        """The long-form files and the clip folder (subgen expands folders itself)."""
        return [*(str(i.media) for i in self.longforms), str(self.clip_dir)]


def clip_stems(corpus: Path) -> list[str]:
    """Every English corpus utterance, sorted: the folder-of-short-clips case (2-20 s each).

    The long-form files reuse most of them, trimmed and joined; as separate files they are a different
    workload (many model inputs, each mostly empty for a decoder that cannot share them).
    """
    return sorted(p.stem for p in corpus.glob("en_*.txt"))


def _seconds(media: Path) -> float:
    duration = probe(media).duration
    if duration is None:
        raise RuntimeError(f"{media}: ffmpeg reports no duration")
    return duration


def longform_item(corpus: Path, work: Path, name: str, kwargs: dict[str, Any]) -> Item:
    """A long-form video of quality.py (built unless ``work`` holds it already) with its reference text."""
    slug = name.replace(" ", "-")
    video, srt = work / slug / f"{slug}.mp4", work / slug / f"{slug}.srt"
    if not (video.is_file() and srt.is_file()):  # the SRT is written last: its presence means a complete build
        build_longform(corpus, work / slug, name=slug, **kwargs)
    text = " ".join(cue.text for cue in read_cues(srt))
    return Item(video, text, _seconds(video))


def clip_item(corpus: Path, folder: Path, stem: str) -> Item:
    """A small video of one corpus utterance as it is (built unless present) with its reference text."""
    video = folder / f"{stem}.mp4"
    if not video.is_file():
        partial = folder.parent / ".building" / video.name
        encode_video(extract_audio(corpus_media(corpus, stem)).samples, partial)
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(partial, video)
    return Item(video, reference(corpus, stem), _seconds(video))


def build_inputs(corpus: Path, work: Path, quick: bool) -> Inputs:
    """The long-form videos (none when ``quick``) and the short-clip folder (``QUICK_CLIPS`` when ``quick``)."""
    longforms = () if quick else tuple(longform_item(corpus, work, n, kw) for n, kw in LONGFORM_FILES)
    stems = clip_stems(corpus)[:QUICK_CLIPS] if quick else clip_stems(corpus)
    folder = work / ("clips-quick" if quick else "clips")
    return Inputs(longforms, folder, tuple(clip_item(corpus, folder, s) for s in stems))


# ---------------------------------------------------------------- systems


@dataclass(frozen=True)
class System:
    """A way to subtitle every input in one process: a name and an argv builder (inputs, output folder)."""

    name: str
    argv: Callable[[Inputs, Path], list[str]]


def subgen_argv(model: str, extra: Sequence[str] = ()) -> Callable[[Inputs, Path], list[str]]:
    """``subgen run`` (the venv's console script) on the long-form files and the clip folder."""
    exe = str(Path(sys.executable).parent / "subgen")
    return lambda inputs, out: [exe, "-q", "run", *inputs.files_and_folder(), "-o", str(out),
                                "--format", "srt", "--model", model, *extra]  # fmt: skip


def whisper_argv(source: ModelSource) -> Callable[[Inputs, Path], list[str]]:
    """openai-whisper's CLI on the converted checkpoint (converted when first needed) over every file."""
    return lambda inputs, out: [*whisper_cli(openai_checkpoint_path(source)), *inputs.files(), "--output_dir", str(out)]


def peer_argv(mode: str, model_dir: Path) -> Callable[[Inputs, Path], list[str]]:
    """benchmarks/peers.py in ``mode`` over every file."""
    script = str(REPO / "benchmarks" / "peers.py")
    return lambda inputs, out: [sys.executable, script, mode, "--model-dir", str(model_dir), "--out", str(out),
                                *inputs.files()]  # fmt: skip


def systems(model: str, source: ModelSource) -> list[System]:
    """Every system, in table order: subgen's defaults first."""
    assert source.path is not None
    return [
        System(SUBGEN, subgen_argv(model)),
        System(SUBGEN_FW, subgen_argv(model, ("--engine", "faster-whisper"))),
        System(SUBGEN_OW, subgen_argv(model, ("--engine", "openai-whisper"))),
        System(WHISPER_CLI, whisper_argv(source)),
        System(FW_SEQUENTIAL, peer_argv("sequential", source.path)),
        System(FW_BATCHED, peer_argv("batched", source.path)),
    ]


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Measured:
    """A finished subprocess: wall seconds, peak resident memory (MiB) and exit code."""

    wall: float
    rss_mb: float
    returncode: int


def run_measured(argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Measured:
    """Run ``argv`` with its output into ``log``; wall time around it, peak RSS from ``os.wait4`` (Linux KiB)."""
    with log.open("wb") as sink:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    return Measured(wall, usage.ru_maxrss / 1024, proc.returncode)


def child_env() -> dict[str, str]:
    """The environment with this checkout first on PYTHONPATH, so subprocesses run this subgen, not another one."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


_FRAME = "│╭╮╰╯─ \t"
"""Box-drawing around Typer's (rich's) error panels, stripped to get at the message."""


def last_line(log: Path) -> str:
    """The last line with text a failed command wrote (its error, usually), without a rich panel's frame."""
    lines = (line.strip(_FRAME) for line in log.read_text(encoding="utf-8", errors="replace").splitlines())
    texts = [line for line in lines if any(c.isalnum() for c in line)]
    return texts[-1] if texts else "no output"


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Row:
    """One system's figures over all inputs; ``error`` set when it failed (figures then may be missing)."""

    system: str
    audio_seconds: float
    wall: float | None = None
    rss_mb: float | None = None
    wer: float | None = None
    conformance: float | None = None
    outputs: int = 0
    inputs: int = 0
    error: str | None = None

    @property
    def realtime(self) -> float | None:
        """Audio seconds per wall second."""
        return self.audio_seconds / self.wall if self.wall else None


def srt_outputs(out: Path) -> dict[str, Path]:
    """The SRT files under ``out`` by input stem (``talk.en.srt`` and ``talk.srt`` both belong to ``talk``)."""
    return {split_language_suffix(p.name)[0]: p for p in sorted(out.rglob("*.srt"))}


def score(system: str, inputs: Inputs, out: Path, measured: Measured) -> Row:
    """Pooled WER over every input (a missing SRT counts as nothing heard) and pooled netflix conformance."""
    found = srt_outputs(out)
    srts = [found.get(item.media.stem) for item in inputs.items]
    hypotheses = [read_text(p) if p else "" for p in srts]
    rates = error_rates([i.reference for i in inputs.items], hypotheses, "en")
    checks = total([check_file(p, PRESETS["netflix"], "en").result for p in srts if p])
    return Row(system, inputs.seconds, measured.wall, measured.rss_mb, rates.wer, checks.conformance,
               outputs=sum(1 for p in srts if p), inputs=len(srts))  # fmt: skip


def measure(system: System, inputs: Inputs, work: Path) -> Row:
    """Run one system over every input into a fresh folder and score it; any failure becomes the row's error."""
    slug = "-".join(re.findall(r"[a-z0-9]+", system.name.lower()))
    out, log = work / slug, work / f"{slug}.log"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    try:
        measured = run_measured(system.argv(inputs, out), log, child_env())
        if measured.returncode != 0:
            return Row(system.name, inputs.seconds, measured.wall, measured.rss_mb,
                       error=f"exit {measured.returncode}: {last_line(log)}")  # fmt: skip
        return score(system.name, inputs, out, measured)
    except Exception as exc:  # a broken peer must not stop the others
        return Row(system.name, inputs.seconds, error=f"{type(exc).__name__}: {exc}")


# ---------------------------------------------------------------- report


def _num(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, None when either is missing or the denominator is 0."""
    return numerator / denominator if numerator is not None and denominator else None


def _ok(rows: Sequence[Row], name: str) -> Row | None:
    """The row of ``name`` if it ran without error."""
    return next((r for r in rows if r.system == name and r.error is None), None)


def table(rows: Sequence[Row]) -> str:
    """A Markdown table; the last two columns compare each system with subgen's defaults (>1: subgen better)."""
    ours = _ok(rows, SUBGEN)
    lines = [
        "| system | wall (s) | realtime factor | peak RSS (MiB) | WER | netflix conformance | SRTs "
        "| subgen speed-up (wall ÷ subgen wall) | RSS ÷ subgen RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.error is not None:
            detail = r.error.replace("|", "\\|")
            lines.append(f"| {r.system} | {_num(r.wall, '.1f')} | - | {_num(r.rss_mb, '.0f')} | error: {detail} "
                         "| - | - | - | - |")  # fmt: skip
            continue
        speedup = ratio(r.wall, ours.wall) if ours else None
        rss = ratio(r.rss_mb, ours.rss_mb) if ours else None
        lines.append(
            f"| {r.system} | {_num(r.wall, '.1f')} | {_num(r.realtime, '.1f', 'x')} | {_num(r.rss_mb, '.0f')} "
            f"| {_num(r.wer, '.1%')} | {_num(r.conformance, '.1%')} | {r.outputs}/{r.inputs} "
            f"| {_num(speedup, '.2f', 'x')} | {_num(rss, '.2f', 'x')} |"
        )
    return "\n".join(lines)


def _verdict(label: str, ok: bool | None, detail: str) -> str:
    word = "SKIP" if ok is None else "PASS" if ok else "FAIL"
    return f"- {word}: {label} ({detail})"


def _at_most(label: str, ours: float | None, limit: float | None, unit: str) -> str:
    if ours is None or limit is None:
        return _verdict(label, None, "not measured")
    return _verdict(label, ours <= limit, f"{ours:.1f} {unit} vs {limit:.1f} {unit}")


def _at_least(label: str, value: float | None, floor: float) -> str:
    if value is None:
        return _verdict(label, None, "not measured")
    return _verdict(label, value >= floor, f"{value:.2f}x")


def bars(rows: Sequence[Row]) -> list[str]:
    """The issue's bars for subgen's defaults as PASS/FAIL lines (SKIP when a system did not run cleanly)."""
    ours, batched, cli = _ok(rows, SUBGEN), _ok(rows, FW_BATCHED), _ok(rows, WHISPER_CLI)
    speedup = ratio(cli.wall, ours.wall) if ours and cli else None
    return [
        _at_most(f"subgen wall <= {FW_BATCHED} wall", ours.wall if ours else None,
                 batched.wall if batched else None, "s"),
        _at_least(f"subgen >= {MIN_SPEEDUP_VS_WHISPER_CLI:g}x faster than {WHISPER_CLI}", speedup,
                  MIN_SPEEDUP_VS_WHISPER_CLI),
        _at_most(f"subgen peak RSS <= {FW_BATCHED} peak RSS", ours.rss_mb if ours else None,
                 batched.rss_mb if batched else None, "MiB"),
    ]  # fmt: skip


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (else what platform knows)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> str:
    """CPU, core count, Python and the versions of the inference libraries."""
    libs = ", ".join(f"{p} {_version(p)}" for p in ("torch", "ctranslate2", "faster-whisper", "openai-whisper"))
    return f"{cpu_model()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; {libs}"


def describe(inputs: Inputs) -> str:
    """One line on what the systems transcribe."""
    parts = [f"{i.media.stem} ({i.seconds:.0f} s)" for i in inputs.longforms]
    clips = sum(i.seconds for i in inputs.clips)
    parts.append(f"{len(inputs.clips)} short clips in {inputs.clip_dir.name}/ ({clips:.0f} s)")
    return f"inputs: {', '.join(parts)}; {inputs.seconds:.0f} s of audio in all"


# ---------------------------------------------------------------- command line


def parse_systems(text: str | None) -> list[str]:
    """The ``--systems`` comma list, checked against the known names (all of them when not given)."""
    if not text:
        return list(SYSTEM_NAMES)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SYSTEM_NAMES]
    if unknown:
        raise ValueError(f"unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEM_NAMES)}")
    return names


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en", help="bundled model or CTranslate2 folder (default tiny.en)")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--work", type=Path, default=None, help="keep inputs and outputs here, reuse built inputs")
    parser.add_argument("--systems", default=None, help=f"comma list of: {', '.join(SYSTEM_NAMES)} (default all)")
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK_CLIPS} short clips: a smoke test")
    args = parser.parse_args(argv)
    try:
        args.systems = parse_systems(args.systems)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Build the inputs, run the chosen systems one after another, print the table and the bars."""
    args = parse_args(argv)
    source = resolve(args.model)
    if source.kind != "ct2" or source.path is None:
        print(f"--model {args.model}: needs a bundled model or a CTranslate2 folder (all systems share its weights)",
              file=sys.stderr)  # fmt: skip
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="subgen-speed-"))
    try:
        inputs = build_inputs(args.corpus, work, args.quick)
        rows = []
        for system in (s for s in systems(args.model, source) if s.name in args.systems):
            print(f"running {system.name} ...", file=sys.stderr, flush=True)
            rows.append(measure(system, inputs, work / "out"))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    verdicts = bars(rows)
    print(f"model {args.model}; machine: {machine()}")
    print(describe(inputs) + "\n")
    print(table(rows))
    print("\n".join(["", *verdicts]))
    return 1 if any(v.startswith("- FAIL") for v in verdicts) else 0


if __name__ == "__main__":
    raise SystemExit(main())
