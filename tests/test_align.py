"""Word times meet VAD's voice onsets and offsets (pure: constructed transcripts and spans)."""

from __future__ import annotations

import pytest

from subgen.audio.speech import align_to_voice
from subgen.core.types import Segment, SpeechRegion, Transcript, Word


def _transcript(*words: tuple[str, float, float]) -> Transcript:
    ws = tuple(Word(" " + t, a, b) for t, a, b in words)
    return Transcript("en", (Segment(ws[0].start, ws[-1].end, "".join(w.text for w in ws), ws),), 60.0, "test")


def _times(transcript: Transcript) -> list[tuple[float, float]]:
    return [(w.start, w.end) for s in transcript.segments for w in s.words]


def test_first_word_in_the_padding_starts_at_the_onset_and_last_word_ends_at_the_offset():
    t = _transcript(("And", 0.62, 1.36), ("so", 1.36, 1.72), ("on.", 1.72, 2.5))
    aligned = align_to_voice(t, (SpeechRegion(1.02, 2.88),))
    assert _times(aligned) == [(1.02, 1.36), (1.36, 1.72), (1.72, 2.88)]
    assert aligned.segments[0].start == 1.02 and aligned.segments[0].end == 2.88


def test_late_first_word_moves_back_to_the_onset_within_reach():
    t = _transcript(("quiet.", 10.0, 10.5), ("All", 12.55, 12.8), ("nouns", 12.8, 13.2))
    aligned = align_to_voice(t, (SpeechRegion(9.9, 10.55), SpeechRegion(12.1, 13.3)))
    assert _times(aligned)[1] == (12.1, 12.8)


def test_a_start_in_silence_moves_to_the_onset_however_far():
    t = _transcript(("end.", 5.0, 5.5), ("The", 6.2, 8.1), ("book", 8.1, 8.5))
    aligned = align_to_voice(t, (SpeechRegion(4.9, 5.6), SpeechRegion(7.9, 8.6)))
    assert _times(aligned)[1] == (7.9, 8.1)


def test_words_too_far_from_a_span_edge_stay_put():
    t = _transcript(("one", 3.0, 3.4), ("two", 3.4, 3.8))
    # Onset 1 s before the first word, which starts inside another span: not this word's onset.
    aligned = align_to_voice(t, (SpeechRegion(1.0, 2.9), SpeechRegion(2.95, 3.9)))
    assert _times(aligned)[0][0] == pytest.approx(2.95)
    aligned = align_to_voice(t, (SpeechRegion(1.0, 3.2),))
    assert _times(aligned) == _times(t), "a word running on past a span keeps its times"


def test_a_word_that_runs_into_the_span_keeps_the_next_word_where_it_is():
    t = _transcript(("long", 1.0, 2.5), ("tail", 2.5, 3.0))
    aligned = align_to_voice(t, (SpeechRegion(0.9, 1.9), SpeechRegion(2.2, 3.1)))
    assert _times(aligned)[1][0] == 2.5, "the previous word runs 0.3 s into the span: no onset to claim"


def test_a_word_whose_end_pokes_into_the_next_span_keeps_its_own_onset():
    """Measured: "4." (0.75-1.732) opened the span at 1.152; its end 4 ms into the next span (from 1.728) once moved
    its start there, leaving it no time."""
    t = _transcript(("4.", 0.752, 1.732), ("Queen", 1.772, 1.972), ("of", 1.972, 2.252), ("clubs.", 2.252, 2.612))
    aligned = align_to_voice(t, (SpeechRegion(1.152, 1.568), SpeechRegion(1.728, 2.624)))
    assert _times(aligned)[:2] == [(1.152, 1.732), (1.728, 1.972)]
