"""A larger, more varied long-form development set, split into a tuning half and a report half fixed by seed.

Usage: python benchmarks/devset.py [--work DIR] [--corpus DIR]   (builds the files and prints what they hold)

Built like ``benchmarks/longform.py`` (trimmed English corpus utterances at known times, a reference SRT with one
cue per utterance, generated non-speech) but in eight kinds, one file of each kind per half:

| kind | what it holds |
|---|---|
| ``reading`` | every clip but the card names, seeded order, 0.1-0.35 s apart: about 3 min of continuous reading |
| ``lecture`` | 15 utterances, pauses of 0.8-2 s, one 40 s stretch of silence, noise and tone |
| ``sparse`` | 10 utterances, most after 10-30 s of silence, noise, tone or music |
| ``shortlong`` | 1-3 s utterances (card names, short sentences) between long ones |
| ``noisy`` | 12 utterances over a pink, white or brown noise bed 10-15 dB below the speech |
| ``phone`` | 12 utterances, the whole file band-passed to 300-3400 Hz and resampled through 8 kHz |
| ``music`` | 12 utterances over a generated music bed 12-18 dB below the speech, and a stretch of music alone |
| ``levels`` | 12 utterances at levels from -35 to -14 dBFS, pauses of 0.2-6 s |

The tuning half uses seeds 1000-1007, the report half 11000-11007; more tuning groups (``tuning2``: seeds
3000-3007, ``tuning3``: 4000-4007, ... ``tuning9``: 10000-10007, and ``tuning10``: 2000-2007, the first report
half, retired once one of its files was diagnosed) serve diagnosis once the tuning half shows no more; they are
tuning data, never reported as held out. The corpus holds only 25 English clips (about 465 words),
so both halves are made of the same clips in other orders, neighbours, pauses, levels, beds and bands: the report
half is held out in arrangement and acoustics, not in speakers or sentences.
"""

from __future__ import annotations

import argparse
import functools
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.longform import (
    MARGIN,
    SPEECH_LEVEL_DB,
    LongForm,
    Utterance,
    corpus_media,
    encode_video,
    ffmpeg_exe,
    generate,
    level,
    reference,
    trim,
    write_reference_srt,
)
from benchmarks.speed import clip_stems
from subgen.audio.media import SAMPLE_RATE, extract_audio

KINDS = ("reading", "lecture", "sparse", "shortlong", "noisy", "phone", "music", "levels")
HALVES = {"tuning": 1000, "report": 11000}
"""Each half's first seed; file ``i`` of a half (kind ``KINDS[i]``) is built with seed ``first + i``. The report
half was seeds 2000-2007 until one of its files was used to diagnose a failure; they are tuning data now
(``tuning10``) and the report half is a fresh draw."""
EXTRA_TUNING = {f"tuning{k}": 1000 * (k + 1) for k in range(2, 10)} | {"tuning10": 2000}
"""More tuning files, built the same way, for diagnosing what the tuning half no longer shows; never reported as
held out."""
SEEDS = {**HALVES, **EXTRA_TUNING}
STRETCH_KINDS = ("silence", "pink", "brown", "white", "tone", "chord", "music", "mix")
SHORT_WORDS = 9
"""A clip with at most this many reference words counts as a short utterance."""


@dataclass(frozen=True)
class Recipe:
    """Everything that decides one development file: its utterances, the gaps between them and what lies under."""

    name: str
    kind: str
    seed: int
    stems: tuple[str, ...]
    pauses: tuple[float, ...]
    stretches: tuple[tuple[int, str, float], ...] = ()
    levels: tuple[float, ...] = ()
    bed: str | None = None
    bed_db: float = -40.0
    telephone: bool = False
    edge: float = 1.0


@functools.cache
def _clip(corpus: Path, stem: str) -> np.ndarray:
    return trim(extract_audio(corpus_media(corpus, stem)).samples)


@functools.cache
def _words(corpus: Path, stem: str) -> int:
    return len(reference(corpus, stem).split())


def _pauses(rng: random.Random, count: int, low: float, high: float) -> tuple[float, ...]:
    return tuple(round(rng.uniform(low, high), 2) for _ in range(count))


def _reading(rng: random.Random, stems: list[str], corpus: Path) -> dict:
    chosen = [s for s in stems if "cards" not in s]
    rng.shuffle(chosen)
    return {"stems": chosen, "pauses": _pauses(rng, len(chosen) - 1, 0.1, 0.35)}


def _lecture(rng: random.Random, stems: list[str], corpus: Path) -> dict:
    chosen = rng.sample(stems, 15)
    return {"stems": chosen, "pauses": _pauses(rng, 14, 0.8, 2.0), "stretches": ((rng.randrange(4, 10), "mix", 40.0),)}


def _sparse(rng: random.Random, stems: list[str], corpus: Path) -> dict:
    chosen = rng.sample(stems, 10)
    after = sorted(rng.sample(range(9), 6))
    stretches = tuple((i, rng.choice(STRETCH_KINDS), round(rng.uniform(10, 30), 1)) for i in after)
    return {"stems": chosen, "pauses": _pauses(rng, 9, 1.0, 3.0), "stretches": stretches}


def _shortlong(rng: random.Random, stems: list[str], corpus: Path) -> dict:
    short = [s for s in stems if _words(corpus, s) <= SHORT_WORDS]
    long = [s for s in stems if _words(corpus, s) > SHORT_WORDS]
    rng.shuffle(short)
    chosen = [x for pair in zip(rng.sample(long, 7), short[:7], strict=True) for x in pair]
    return {"stems": chosen, "pauses": _pauses(rng, len(chosen) - 1, 0.3, 1.5)}


def _noisy(rng: random.Random, stems: list[str], corpus: Path) -> dict:
    snr = rng.uniform(10, 15)
    bed = rng.choice(("pink", "white", "brown"))
    return {**_twelve(rng, stems), "bed": bed, "bed_db": SPEECH_LEVEL_DB - snr}


def _phone(rng: random.Random, stems: list[str], corpus: Path) -> dict:
    return {**_twelve(rng, stems), "telephone": True, "stretches": ((rng.randrange(3, 9), "pink", 8.0),)}


def _music(rng: random.Random, stems: list[str], corpus: Path) -> dict:
    below = rng.uniform(12, 18)
    return {**_twelve(rng, stems), "bed": "music", "bed_db": SPEECH_LEVEL_DB - below,
            "stretches": ((rng.randrange(3, 9), "music", 12.0),)}  # fmt: skip


def _levels(rng: random.Random, stems: list[str], corpus: Path) -> dict:
    twelve = _twelve(rng, stems, 0.2, 6.0)
    levels = tuple(round(rng.uniform(-35, -14), 1) for _ in twelve["stems"])
    return {**twelve, "levels": levels, "stretches": ((rng.randrange(3, 9), rng.choice(STRETCH_KINDS), 10.0),)}


def _twelve(rng: random.Random, stems: list[str], low: float = 0.3, high: float = 3.0) -> dict:
    return {"stems": rng.sample(stems, 12), "pauses": _pauses(rng, 11, low, high)}


_KIND_RECIPES: dict[str, Callable[[random.Random, list[str], Path], dict]] = {
    "reading": _reading,
    "lecture": _lecture,
    "sparse": _sparse,
    "shortlong": _shortlong,
    "noisy": _noisy,
    "phone": _phone,
    "music": _music,
    "levels": _levels,
}


def recipe(corpus: Path, half: str, index: int) -> Recipe:
    """File ``index`` of ``half``: its kind is ``KINDS[index]``, everything else is drawn with its seed."""
    kind, seed = KINDS[index], SEEDS[half] + index
    rng = random.Random(seed)
    fields = _KIND_RECIPES[kind](rng, clip_stems(corpus), corpus)
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    prefix = half[0] + (f"{half[-1]}-" if half[-1].isdigit() else "")
    return Recipe(f"{prefix}{index + 1}-{kind}", kind, seed, **fields)


def recipes(corpus: Path, half: str) -> list[Recipe]:
    """Every file of one half, in ``KINDS`` order."""
    return [recipe(corpus, half, i) for i in range(len(KINDS))]


def _telephone(samples: np.ndarray) -> np.ndarray:
    """``samples`` (16 kHz) band-passed to a telephone's 300-3400 Hz and resampled through 8 kHz and back."""
    rate = str(SAMPLE_RATE)
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "f32le", "-ar", rate, "-ac", "1",
            "-i", "pipe:", "-af", f"highpass=f=300,lowpass=f=3400,aresample=8000,aresample={rate}",
            "-f", "f32le", "pipe:"]  # fmt: skip
    out = subprocess.run(argv, input=samples.astype("<f4").tobytes(), stdout=subprocess.PIPE, check=True).stdout
    return np.frombuffer(out, dtype="<f4").astype(np.float32)[: len(samples)]


def _gap(r: Recipe, index: int) -> tuple[list[np.ndarray], tuple[float, float] | None]:
    """What follows utterance ``index``: a plain pause, or a non-speech stretch with ``MARGIN`` s of silence around."""
    noise = [generate(kind, seconds) for after, kind, seconds in r.stretches if after == index]
    if not noise:
        return [generate("silence", r.pauses[index % len(r.pauses)])], None
    margin = generate("silence", MARGIN)
    return [margin, *noise, margin], (MARGIN, MARGIN + sum(len(n) for n in noise) / SAMPLE_RATE)


def assemble(corpus: Path, r: Recipe) -> tuple[np.ndarray, list[Utterance], list[tuple[float, float]]]:
    """The file's samples, its utterances and its non-speech stretches (seconds), before any bed or band."""
    parts, utterances, stretches = [generate("silence", r.edge)], [], []
    cursor = len(parts[0])
    for index, stem in enumerate(r.stems):
        speech = level(_clip(corpus, stem), r.levels[index] if r.levels else SPEECH_LEVEL_DB)
        parts.append(speech)
        end = cursor + len(speech)
        utterances.append(Utterance(cursor / SAMPLE_RATE, end / SAMPLE_RATE, reference(corpus, stem), stem))
        cursor = end
        gap, stretch = _gap(r, index) if index < len(r.stems) - 1 else ([generate("silence", r.edge)], None)
        if stretch is not None:
            stretches.append((cursor / SAMPLE_RATE + stretch[0], cursor / SAMPLE_RATE + stretch[1]))
        parts.extend(gap)
        cursor += sum(len(g) for g in gap)
    return np.concatenate(parts), utterances, stretches


def build(corpus: Path, r: Recipe, out_dir: Path) -> LongForm:
    """``out_dir/NAME.mp4`` and ``NAME.srt`` for recipe ``r``; files already there (SRT written last) are reused."""
    video, srt = out_dir / f"{r.name}.mp4", out_dir / f"{r.name}.srt"
    samples, utterances, stretches = assemble(corpus, r)
    if r.bed is not None:
        samples = samples + generate(r.bed, len(samples) / SAMPLE_RATE, r.bed_db)[: len(samples)]
    if r.telephone:
        samples = _telephone(samples)
    if not (video.is_file() and srt.is_file()):
        out_dir.mkdir(parents=True, exist_ok=True)
        encode_video(samples, video)
        write_reference_srt(utterances, srt)
    return LongForm(video, srt, tuple(utterances), tuple(stretches), len(samples) / SAMPLE_RATE)


def build_half(corpus: Path, half: str, work: Path) -> list[LongForm]:
    """Every file of ``half`` under ``work/half``."""
    return [build(corpus, r, work / half) for r in recipes(corpus, half)]


def shared_clips(corpus: Path) -> tuple[set[str], set[str]]:
    """The clips each half uses (they overlap: the corpus is small)."""
    used = [{s for r in recipes(corpus, half) for s in r.stems} for half in HALVES]
    return used[0], used[1]


def main() -> int:
    """Build both halves and print each file's length, utterances and words."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--work", type=Path, default=Path("devset"))
    args = parser.parse_args()
    total_words = 0
    for half in HALVES:
        for lf in build_half(args.corpus, half, args.work):
            words = len(lf.text.split())
            total_words += words
            print(f"{half}\t{lf.video.stem}\t{lf.duration:.0f} s\t{len(lf.utterances)} utterances\t{words} words")
    tuning, report = shared_clips(args.corpus)
    print(f"{total_words} words; clips in both halves: {len(tuning & report)} of {len(tuning | report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
