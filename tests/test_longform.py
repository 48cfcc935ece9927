"""The long-form media builder: trimming cuts only non-speech, and the file has speech exactly where it says."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pysrt
import pytest

from benchmarks.longform import (
    DEFAULT_STEMS,
    MARGIN,
    NONSPEECH_LEVEL_DB,
    SPEECH_LEVEL_DB,
    corpus_media,
    reference,
    speech_span,
)
from subgen.audio.media import SAMPLE_RATE, AudioClip, extract_audio, probe
from subgen.audio.vad import speech_probabilities
from subgen.core.options import TranscribeOptions
from subgen.evaluate.rates import normalize


def _trimmed(corpus, stem) -> tuple[np.ndarray, int, int]:
    """The decoded clip and its speech span (samples)."""
    samples = extract_audio(corpus_media(corpus, stem)).samples
    return samples, *speech_span(samples)


@pytest.mark.parametrize("stem", DEFAULT_STEMS)
def test_trimming_cuts_away_no_speech(corpus, stem):
    samples, first, last = _trimmed(corpus, stem)
    head, tail = samples[:first], samples[last:]
    for part, name in ((head, "head"), (tail, "tail")):
        if len(part) >= 512:
            assert speech_probabilities(part).max() < 0.5, f"{stem}: the cut {name} holds speech"


@pytest.mark.parametrize(
    "stem",
    ["en_jfk_inaugural_excerpt", "en_kennedy_moon_1961_excerpt", "en_fleurs_001", "en_librispeech_1089-134686-0000"],
)
def test_trimmed_utterances_keep_their_first_and_last_words(corpus, tiny_engine, stem):
    samples, first, last = _trimmed(corpus, stem)
    speech = samples[first:last]
    heard = tiny_engine.transcribe(AudioClip(speech, corpus / stem), TranscribeOptions(model="tiny.en", vad=False))
    said, expected = normalize(heard.text).split(), normalize(reference(corpus, stem)).split()
    assert (said[0], said[-1]) == (expected[0], expected[-1]), heard.text


def _db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2)))


def test_longform_has_speech_and_non_speech_where_it_says(longform, corpus):
    us = longform.utterances
    assert [u.stem for u in us] == list(DEFAULT_STEMS)
    assert all(a.end < b.start for a, b in pairwise(us)), "utterances in order, apart"
    pauses = sorted(round(b.start - a.end, 2) for a, b in pairwise(us))
    assert pauses[0] == pytest.approx(0.4) and pauses[-1] > 15, pauses
    [(a, b)] = longform.nonspeech
    assert b - a == pytest.approx(17.0) and any(u.end + MARGIN == pytest.approx(a) for u in us)
    audio = extract_audio(longform.video).samples
    assert len(audio) / SAMPLE_RATE == pytest.approx(longform.duration, abs=0.1)
    assert abs(probe(longform.video).duration - longform.duration) < 0.1

    def part(start: float, end: float) -> np.ndarray:
        return audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]

    assert _db(part(a + 0.5, b - 0.5)) == pytest.approx(NONSPEECH_LEVEL_DB, abs=1.5)
    for u in us:
        assert _db(part(u.start, u.end)) == pytest.approx(SPEECH_LEVEL_DB, abs=1.5), u.stem
    quiet = [part(x.end + 0.05, y.start - 0.05) for x, y in pairwise(us) if y.start - x.end < 5]
    assert all(np.abs(q).max() < 0.01 for q in quiet if len(q)), "pauses are silent"


def test_reference_srt_has_one_cue_per_utterance(longform, corpus):
    subs = pysrt.open(str(longform.reference_srt), encoding="utf-8")
    assert len(subs) == len(longform.utterances)
    for cue, u in zip(subs, longform.utterances, strict=True):
        assert cue.start.ordinal == round(u.start * 1000) and cue.end.ordinal == round(u.end * 1000)
        assert cue.text == u.text == reference(corpus, u.stem)
