"""benchmarks/devset.py: the development set's recipes are fixed by seed, big enough, and its halves differ."""

from __future__ import annotations

import numpy as np

from benchmarks.devset import HALVES, KINDS, assemble, recipe, recipes, shared_clips
from benchmarks.longform import reference
from subgen.audio.media import SAMPLE_RATE


def test_each_half_has_one_file_of_every_kind_and_the_same_recipes_every_time(corpus):
    for half in HALVES:
        built = recipes(corpus, half)
        assert [r.kind for r in built] == list(KINDS)
        assert built == recipes(corpus, half), "fixed by seed"


def test_halves_use_disjoint_seeds_and_different_arrangements(corpus):
    tuning, report = recipes(corpus, "tuning"), recipes(corpus, "report")
    assert not {r.seed for r in tuning} & {r.seed for r in report}
    assert all(t.stems != r.stems or t.pauses != r.pauses for t, r in zip(tuning, report, strict=True))
    both, either = shared_clips(corpus)
    assert both and either  # the corpus is small: the halves share clips, which docs/quality.md says


def test_the_set_has_twelve_files_and_three_thousand_reference_words(corpus):
    everything = [r for half in HALVES for r in recipes(corpus, half)]
    words = sum(len(reference(corpus, s).split()) for r in everything for s in r.stems)
    assert len(everything) >= 12 and words >= 3000
    assert all(len(set(r.stems)) == len(r.stems) for r in everything), "no clip twice in one file"


def test_utterances_sit_where_the_reference_says_and_stretches_hold_no_speech(corpus):
    r = recipe(corpus, "tuning", KINDS.index("sparse"))
    samples, utterances, stretches = assemble(corpus, r)
    assert len(utterances) == len(r.stems) and len(stretches) == len(r.stretches)
    for u in utterances:
        inside = samples[round(u.start * SAMPLE_RATE) : round(u.end * SAMPLE_RATE)]
        assert np.sqrt(np.mean(inside**2)) > 0.01
    for a, b in stretches:
        assert not any(u.start < b and u.end > a for u in utterances)
