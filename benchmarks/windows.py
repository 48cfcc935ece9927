"""How the VAD decode-window length moves WER and speed: subgen on eight long-form files, one run per ``--window``.

Usage: python benchmarks/windows.py [--model tiny.en] [--windows 10,12,15,18,20,22,29] [--work DIR] [--corpus DIR]

Files: long-form A and B of benchmarks/quality.py, and C-H, each twelve English corpus utterances drawn with a
fixed seed, joined with pauses of 0.3-7 s and one 6 s non-speech stretch (same builder, so each has a reference
SRT with one cue per utterance). For each window length subgen runs once over all eight files (one process, model
loaded once) and the table gives the whole command's wall time, each file's WER, the pooled WER (all words) and
the lost utterances, repeated text and displaced words of all files together (subgen.evaluate.continuity).
The default ``--window`` (``subgen.core.options.WINDOW_SECONDS``) was picked from this table.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.longform import build_longform
from benchmarks.quality import LONGFORM_FILES
from benchmarks.speed import clip_stems
from subgen.core.options import WINDOW_SECONDS
from subgen.evaluate.continuity import Continuity, continuity, pool_continuity
from subgen.evaluate.rates import error_rates
from subgen.subtitles.io import read_cues, read_text

EXTRA_FILES = "CDEFGH"
UTTERANCES = 12
PAUSE_CHOICES = (0.3, 0.5, 0.8, 1.2, 2.0, 4.0, 7.0)
NONSPEECH_KINDS = ("pink", "brown", "white", "tone")
DEFAULT_WINDOWS = (10.0, 12.0, 15.0, 18.0, 20.0, 22.0, 29.0)


@dataclass(frozen=True)
class LongFile:
    """A built long-form video and its reference transcript."""

    name: str
    video: Path
    reference: str
    reference_srt: Path | None = None


@dataclass(frozen=True)
class Sweep:
    """One window length's run: wall time and each file's transcript."""

    window: float
    wall: float
    hypotheses: dict[str, str]
    found: dict[str, Continuity] = field(default_factory=dict)


def extra_recipe(corpus: Path, index: int) -> dict:
    """``build_longform`` arguments of extra file ``index``: seeded utterances, pauses and a non-speech stretch."""
    rng = random.Random(100 + index)
    stems = rng.sample(clip_stems(corpus), UTTERANCES)
    pauses = [rng.choice(PAUSE_CHOICES) for _ in stems[1:]]
    nonspeech = ((rng.randrange(len(stems) - 1), rng.choice(NONSPEECH_KINDS), 6.0),)
    return {"stems": stems, "pauses": pauses, "nonspeech": nonspeech}


def build_files(corpus: Path, work: Path) -> list[LongFile]:
    """A and B as quality.py builds them, then C-H; a file already in ``work`` (its SRT written last) is reused."""
    recipes = [(n.split()[-1], kw) for n, kw in LONGFORM_FILES]
    recipes += [(name, extra_recipe(corpus, i)) for i, name in enumerate(EXTRA_FILES)]
    files = []
    for name, kwargs in recipes:
        video, srt = work / name / f"{name}.mp4", work / name / f"{name}.srt"
        if not (video.is_file() and srt.is_file()):
            build_longform(corpus, work / name, name=name, **kwargs)
        files.append(LongFile(name, video, " ".join(cue.text for cue in read_cues(srt)), srt))
    return files


def run_subgen(files: Sequence[LongFile], window: float, model: str, out: Path) -> Sweep:
    """One subgen process over every file with ``--window``; its SRTs are read back as plain text."""
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, "-m", "subgen", "--quiet", "run", *(str(f.video) for f in files), "--model", model,
            "--window", f"{window:g}", "-o", str(out)]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"subgen --window {window:g} failed: {done.stderr.strip()[-500:]}")
    texts, found = {}, {}
    for f in files:
        srts = sorted(out.rglob(f"{f.name}.*srt"))
        texts[f.name] = read_text(srts[0]) if srts else ""
        if f.reference_srt is not None:
            found[f.name] = continuity(read_cues(f.reference_srt), read_cues(srts[0]) if srts else [])
    return Sweep(window, wall, texts, found)


def table(files: Sequence[LongFile], sweeps: Sequence[Sweep]) -> str:
    """Markdown: one row per window length, WER per file and pooled, wall time; the default window marked."""
    head = ["window", "wall (s)", *(f.name for f in files), "pooled WER", "lost / repeated / displaced"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for sweep in sweeps:
        per_file = [error_rates([f.reference], [sweep.hypotheses[f.name]], "en").wer for f in files]
        pooled = error_rates([f.reference for f in files], [sweep.hypotheses[f.name] for f in files], "en").wer
        label = f"{sweep.window:g} s" + (" (default)" if sweep.window == WINDOW_SECONDS else "")
        cells = [label, f"{sweep.wall:.1f}", *(f"{w:.1%}" for w in per_file), f"**{pooled:.2%}**", _found(sweep)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _found(sweep: Sweep) -> str:
    pooled = pool_continuity(list(sweep.found.values()))
    return "-" if pooled is None else f"{len(pooled.lost)} / {len(pooled.repeated)} / {len(pooled.displaced)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Build the files, sweep the window lengths, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--windows", default=",".join(f"{w:g}" for w in DEFAULT_WINDOWS))
    parser.add_argument("--work", type=Path, help="keep the videos and outputs here (default: a temp dir)")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    args = parser.parse_args(argv)
    windows = [float(w) for w in args.windows.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="subgen-windows-"))
    files = build_files(args.corpus, work)
    sweeps = []
    for window in windows:
        print(f"running subgen --window {window:g} ...", file=sys.stderr, flush=True)
        sweeps.append(run_subgen(files, window, args.model, work / "out" / f"{window:g}"))
    print(f"model {args.model}; {len(files)} long-form files; {sum(len(f.reference.split()) for f in files)} words")
    print(table(files, sweeps))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
