"""benchmarks/windows.py's own parts: the seeded extra long-form recipes and the WER table."""

from __future__ import annotations

from pathlib import Path

from benchmarks.speed import clip_stems
from benchmarks.windows import EXTRA_FILES, UTTERANCES, LongFile, Sweep, extra_recipe, table
from subgen.core.options import WINDOW_SECONDS
from subgen.core.types import Cue
from subgen.evaluate.continuity import continuity


def test_extra_recipes_are_seeded_and_differ_from_each_other(corpus):
    recipes = [extra_recipe(corpus, i) for i in range(len(EXTRA_FILES))]
    assert recipes == [extra_recipe(corpus, i) for i in range(len(EXTRA_FILES))], "same files on every run"
    stems = set(clip_stems(corpus))
    for recipe in recipes:
        assert len(recipe["stems"]) == len(set(recipe["stems"])) == UTTERANCES and set(recipe["stems"]) <= stems
        assert len(recipe["pauses"]) == UTTERANCES - 1
        [(after, kind, seconds)] = recipe["nonspeech"]
        assert 0 <= after < UTTERANCES - 1 and kind in {"pink", "brown", "white", "tone"} and seconds > 0
    assert len({tuple(r["stems"]) for r in recipes}) == len(recipes)


def test_table_gives_each_files_wer_the_pooled_wer_and_marks_the_default():
    files = [LongFile("A", Path("A.mp4"), "red green blue black"), LongFile("B", Path("B.mp4"), "cat dog")]
    sweeps = [
        Sweep(10.0, 3.04, {"A": "red green blue black", "B": "cat"}),
        Sweep(WINDOW_SECONDS, 2.5, {"A": "red green glue black", "B": "cat dog"}),
    ]
    lines = table(files, sweeps).splitlines()
    assert lines[0] == "| window | wall (s) | A | B | pooled WER | lost / repeated / displaced |"
    assert lines[2] == "| 10 s | 3.0 | 0.0% | 50.0% | **16.67%** | - |", "1 error in 6 words pooled"
    assert lines[3] == f"| {WINDOW_SECONDS:g} s (default) | 2.5 | 25.0% | 0.0% | **16.67%** | - |"


def test_table_sums_lost_repeated_and_displaced_over_the_files():
    reference = (Cue(0.0, 2.0, ("red green blue black",)), Cue(10.0, 12.0, ("cats and dogs sleep all day",)))
    twice = "cats and dogs sleep all day cats and dogs sleep all day"
    found = {
        "A": continuity(reference, (Cue(0.0, 2.0, ("red green blue black",)),)),
        "B": continuity(reference, (Cue(0.0, 2.0, ("red green blue black",)), Cue(10.0, 12.0, (twice,)))),
    }
    sweep = Sweep(WINDOW_SECONDS, 1.0, {"A": "red green blue black", "B": "red green blue black " + twice}, found)
    files = [LongFile("A", Path("A.mp4"), "red green blue black cats and dogs sleep all day")]
    assert table(files, [sweep]).splitlines()[2].endswith("| 1 / 1 / 0 |"), "A loses one utterance, B repeats one"
