"""Segment -> cue splitting: line limits, word timing, no overlaps."""

from __future__ import annotations

from itertools import pairwise

from subgen.config import CueOptions
from subgen.cues import transcript_to_cues, wrap
from subgen.engines.base import Segment, Transcript, Word


def _words(text: str, start: float = 0.0, step: float = 0.3) -> tuple[Word, ...]:
    return tuple(Word(" " + w, start + i * step, start + (i + 1) * step) for i, w in enumerate(text.split()))


def _transcript(*segments: Segment) -> Transcript:
    return Transcript(language="en", segments=segments, duration=60.0, model="test")


def test_short_segment_is_one_line():
    words = _words("Hello there.")
    cues = transcript_to_cues(_transcript(Segment(0, 1, " Hello there.", words)), CueOptions())
    assert [c.lines for c in cues] == [("Hello there.",)]


def test_wrap_balances_two_lines():
    lines = wrap(list(_words("And so my fellow Americans ask not what your country can do for you")), 42, 2)
    assert lines is not None and len(lines) == 2
    assert all(len(line) <= 42 for line in lines)
    assert abs(len(lines[0]) - len(lines[1])) <= 12


def test_long_segment_splits_into_cues_within_limits():
    text = " ".join(f"word{i:02d}" for i in range(40))
    words = _words(text, start=5.0)
    cues = transcript_to_cues(_transcript(Segment(4.0, 20.0, " " + text, words)), CueOptions())
    assert len(cues) > 1
    for cue in cues:
        assert len(cue.lines) <= 2 and all(len(line) <= 42 for line in cue.lines)
    assert " ".join(" ".join(c.lines) for c in cues) == text, "no word is lost, split or reordered"
    assert cues[0].start == 5.0, "cues start at the first word, not the segment's start"
    assert all(a.end <= b.start for a, b in pairwise(cues))


def test_custom_limits_apply():
    words = _words("one two three four five six seven eight nine ten")
    cues = transcript_to_cues(_transcript(Segment(0, 3, "x", words)), CueOptions(max_chars=14, max_lines=1))
    assert all(len(c.lines) == 1 and len(c.lines[0]) <= 14 for c in cues)


def test_segment_without_words_spreads_text_over_its_span():
    cues = transcript_to_cues(_transcript(Segment(2.0, 4.0, " no word timings here", ())), CueOptions())
    assert cues[0].start == 2.0 and cues[-1].end == 4.0


def test_overlapping_segments_are_clipped():
    first = Segment(0, 2, " first part", _words("first part", 0.0, 1.0))
    second = Segment(1.5, 3, " second part", _words("second part", 1.5, 0.5))
    cues = transcript_to_cues(_transcript(first, second), CueOptions())
    assert cues[0].end <= cues[1].start
