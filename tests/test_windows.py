"""Decode windows: packing speech regions, cutting long ones at pauses, the rest Whisper left undecoded."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from subgen.audio.media import SAMPLE_RATE, AudioClip
from subgen.audio.speech import (
    JOIN_SILENCE,
    WINDOW_SECONDS,
    Piece,
    plan_windows,
    settle_join_words,
    skipped,
    split_long,
    undecoded,
)
from subgen.core.types import Segment, Word
from subgen.core.types import SpeechRegion as R


def test_regions_are_packed_in_order_up_to_the_window_length():
    regions = tuple(R(10.0 * i, 10.0 * i + 5.0) for i in range(7))  # 7 regions of 5 s
    windows = plan_windows(regions, limit=16.0)
    assert [len(w.time_map.pieces) for w in windows] == [3, 3, 1]
    assert all(w.duration <= 16.0 for w in windows)
    assert windows[0].duration == pytest.approx(3 * 5.0 + 2 * JOIN_SILENCE)
    assert all(w.duration <= WINDOW_SECONDS for w in plan_windows(regions)), "the default limit holds too"
    flat = [(p.source_start, p.source_end) for w in windows for p in w.time_map.pieces]
    assert flat == [(r.start, r.end) for r in regions], "every region once, in order, unchanged"


def test_a_long_region_is_cut_in_the_middle_of_a_pause():
    spans = (R(0.5, 12.0), R(12.4, 27.0), R(27.6, 40.0), R(40.2, 55.0))
    parts = split_long(R(0.0, 56.0), spans, limit=29.0)
    assert [(round(p.start, 2), round(p.end, 2)) for p in parts] == [(0.0, 27.3), (27.3, 56.0)]
    assert all(p.end - p.start <= 29.0 for p in parts)
    assert all(p.end - p.start <= WINDOW_SECONDS for p in split_long(R(0.0, 56.0), spans))


def test_a_long_region_without_pauses_is_cut_hard_at_the_limit():
    parts = split_long(R(5.0, 70.0), (R(5.0, 70.0),), limit=29.0)
    assert [(p.start, p.end) for p in parts] == [(5.0, 34.0), (34.0, 63.0), (63.0, 70.0)]


def test_window_samples_join_the_pieces_with_silence_and_map_times_back():
    samples = np.arange(20 * SAMPLE_RATE, dtype=np.float32)
    clip = AudioClip(samples, Path("x"))
    [window] = plan_windows((R(2.0, 3.0), R(10.0, 12.0)))
    audio = window.samples(clip)
    assert len(audio) == round(window.duration * SAMPLE_RATE)
    assert audio[0] == 2 * SAMPLE_RATE and audio[-1] == 12 * SAMPLE_RATE - 1
    gap = slice(SAMPLE_RATE, SAMPLE_RATE + round(JOIN_SILENCE * SAMPLE_RATE))
    assert not audio[gap].any()
    second = 1.0 + JOIN_SILENCE
    seg = Segment(second + 0.5, second + 1.5, " hi", (Word(" hi", second + 0.5, second + 1.5),))
    [moved] = window.to_source((seg,))
    assert (moved.start, moved.end) == pytest.approx((10.5, 11.5))


def _seg(start: float, end: float) -> Segment:
    """A segment of 0.4 s words from ``start`` to ``end``."""
    count = max(1, round((end - start) / 0.4))
    step = (end - start) / count
    words = tuple(Word(" word", start + k * step, start + (k + 1) * step) for k in range(count))
    return Segment(start, end, " word" * count, words)


def test_the_rest_after_an_early_stop_becomes_a_follow_up_window():
    regions = (R(0.0, 8.0), R(20.0, 26.0), R(40.0, 47.0))
    [window] = plan_windows(regions, limit=29.0)
    spans = (R(0.4, 7.6), R(20.4, 25.6), R(40.4, 46.6))
    # Whisper stopped at the end of the first region: the other two are still to decode.
    rest = undecoded(window, (_seg(0.4, 7.6),), spans)
    assert [(r.start, r.end) for r in rest] == [(20.0, 26.0), (40.0, 47.0)]
    # It stopped inside the second region: the rest starts there.
    stop = 8.0 + JOIN_SILENCE + 3.0
    rest = undecoded(window, (_seg(0.4, stop),), spans)
    assert rest and rest[0].start == pytest.approx(23.0)


def test_no_follow_up_when_only_padding_is_left_or_nothing_was_heard():
    [window] = plan_windows((R(0.0, 8.0), R(20.0, 26.0)))
    spans = (R(0.4, 7.6), R(20.4, 25.6))
    assert undecoded(window, (_seg(0.4, 8.0 + JOIN_SILENCE + 5.5),), spans) == ()
    assert undecoded(window, (), spans) == ()


def test_a_region_passed_over_inside_a_window_is_decoded_again_alone():
    regions = (R(0.0, 4.0), R(20.0, 26.0), R(40.0, 47.0))
    [window] = plan_windows(regions, limit=29.0)
    spans = (R(0.4, 3.6), R(20.4, 25.6), R(40.4, 46.6))
    third = 4.0 + JOIN_SILENCE + 6.0 + JOIN_SILENCE
    # Words in the second and third regions only: the first was passed over.
    decoded = (_seg(4.0 + JOIN_SILENCE + 0.4, 4.0 + JOIN_SILENCE + 5.6), _seg(third + 0.4, third + 6.6))
    assert skipped(window, decoded, spans) == (R(0.0, 4.0),)
    # Every region has a word: nothing skipped; regions after the last word are undecoded's, not skipped's.
    assert skipped(window, (_seg(0.4, 3.6), *decoded), spans) == ()
    assert skipped(window, (_seg(0.4, 3.6),), spans) == ()
    assert skipped(window, (), spans) == ()


def test_a_passed_over_region_with_too_little_voice_is_left_alone():
    [window] = plan_windows((R(0.0, 2.0), R(20.0, 26.0)), limit=29.0)
    spans = (R(0.8, 1.0), R(20.4, 25.6))  # 0.2 s of voice in the first region: under VAD's shortest speech
    assert skipped(window, (_seg(2.0 + JOIN_SILENCE + 0.4, 2.0 + JOIN_SILENCE + 5.6),), spans) == ()
    heard = (R(0.8, 1.1), R(20.4, 25.6))  # 0.3 s: a whole region VAD heard as speech is worth a decode
    assert skipped(window, (_seg(2.0 + JOIN_SILENCE + 0.4, 2.0 + JOIN_SILENCE + 5.6),), heard) == (R(0.0, 2.0),)


def test_a_whole_last_region_with_little_voice_is_decoded_again_but_not_a_tail_of_padding():
    """Measured: "seven of clubs" through a telephone band, 0.29 s heard as voice, ended a window undecoded."""
    [window] = plan_windows((R(127.22, 129.71), R(135.15, 136.53)), limit=29.0)
    spans = (R(127.62, 129.31), R(135.84, 136.13))
    assert undecoded(window, (_seg(0.0, 2.49),), spans) == (R(135.15, 136.53),)
    [window] = plan_windows((R(127.22, 136.53),), limit=29.0)
    assert undecoded(window, (_seg(0.0, 8.5),), spans) == (), "0.29 s of voice after the last word of a region"


def test_a_short_utterance_a_window_opens_with_and_passes_over_is_decoded_again_alone():
    """Measured: "seven of clubs" (voice 7.52-8.70) opened a window; tiny.en skipped it and stretched "The" of
    the next sentence back over its end. A stretch of voice no word stands on is decoded again, padded."""
    [window] = plan_windows((R(7.12, 19.95),), limit=29.0)
    spans = (R(7.52, 8.70), R(9.15, 10.27), R(10.43, 12.13), R(12.35, 17.47))
    the = Segment(8.30 - 7.12, 9.26 - 7.12, " The", (Word(" The", 8.30 - 7.12, 9.26 - 7.12),))
    times = ((9.26, 10.0), (10.5, 12.0), (12.4, 17.4))  # a word's middle on each later span
    decoded = (the, *(_seg(a - 7.12, b - 7.12) for a, b in times))
    [again] = skipped(window, decoded, spans)
    assert again.start == pytest.approx(7.12) and again.end == pytest.approx((8.70 + 9.15) / 2)
    covered = (_seg(7.6 - 7.12, 8.6 - 7.12), *decoded)
    assert skipped(window, covered, spans) == ()
    too_short = (R(7.52, 7.7), *spans[1:])  # 0.18 s of voice: under VAD's shortest speech
    assert skipped(window, decoded, too_short) == ()


def test_a_lone_word_whose_sentence_goes_on_after_the_join_does_not_cover_its_region():
    """Measured: "In", first word of "in being comparatively modern" (at 72.4 s), stood 20 s early on the voice
    of "ten of clubs" that the window passed over."""
    [window] = plan_windows((R(50.9, 52.4), R(72.43, 74.96)), limit=29.0)
    spans = (R(51.3, 52.0), R(72.8, 74.5))
    second = 1.5 + JOIN_SILENCE
    words = (Word(" In", 0.31, 1.5), Word(" being", second + 0.01, second + 0.9), Word(" modern.", second + 1, 3.8))
    decoded = (Segment(0.31, 3.8, " In being modern.", words),)
    assert skipped(window, decoded, spans) == (R(50.9, 52.4),)
    ten = replace(words[0], text=" Ten.", start=0.5, end=1.2)
    ends = (Segment(0.5, 3.8, " Ten. being modern.", (ten, *words[1:])),)
    assert skipped(window, ends, spans) == (), "a word ending a sentence closes its region"


def _settled(pieces: tuple[Piece, ...], spans: tuple[R, ...], *segments: Segment) -> list[tuple[str, float, float]]:
    out = settle_join_words(segments, pieces, spans)
    return [(w.text.strip(), round(w.start, 2), round(w.end, 2)) for s in out for w in s.words]


def _said(*words: tuple[str, float, float]) -> Segment:
    """A segment of the given (text, start, end) words."""
    timed = tuple(Word(" " + text, start, end) for text, start, end in words)
    return Segment(timed[0].start, timed[-1].end, "".join(w.text for w in timed), timed)


def test_a_word_timed_across_a_join_onto_no_voice_goes_to_the_side_it_was_said_on():
    # "7 of clubs For" + "although ...": "For" was timed in the padding after "clubs", 23 s early.
    pieces = (Piece(29.07, 30.86, 0.0), Piece(53.17, 63.44, 2.0))
    spans = (R(29.47, 30.46), R(53.57, 63.04))
    clubs = _said(("7", 29.47, 29.75), ("of", 29.75, 30.05), ("clubs", 30.05, 30.37))
    ahead = _said(("For", 30.5, 30.86), ("although", 53.6, 54.09), ("the", 54.09, 54.35))
    assert _settled(pieces, spans, clubs, ahead)[3] == ("For", 53.57, 53.6)
    # "Five, five. All nouns": the second "five." was timed before the next region's voice; voice is left after
    # "Five," in the region before, so it goes back there.
    pieces = (Piece(0.82, 2.54, 0.0), Piece(4.98, 13.14, 2.0))
    spans = (R(1.22, 1.6), R(1.79, 2.14), R(5.38, 8.13))
    late = _said(("Five,", 1.22, 1.6), ("five.", 4.98, 4.98), ("All", 5.47, 5.65))
    assert _settled(pieces, spans, late)[1] == ("five.", 1.79, 2.14)
    # A word on its own voice stays, whatever the join.
    on_voice = _said(("Five,", 1.22, 1.6), ("five.", 1.8, 2.1), ("All", 5.47, 5.65))
    assert settle_join_words((on_voice,), pieces, spans) == (on_voice,)


def test_a_word_another_decode_wrote_over_moves_across_its_join():
    # "In" of "In being modern." stood on "ten of clubs", which the region's second decode then wrote.
    pieces = (Piece(50.9, 52.4, 0.0), Piece(72.43, 74.96, 1.7))
    spans = (R(51.3, 52.0), R(72.8, 74.5))
    clubs = _said(("Ten", 51.3, 51.5), ("of", 51.5, 51.7), ("clubs.", 51.7, 52.0))
    modern = _said(("In", 51.21, 52.4), ("being", 72.83, 73.3), ("modern.", 73.3, 74.6))
    words = _settled(pieces, spans, clubs, modern)
    assert [w for w, _, _ in words] == ["Ten", "of", "clubs.", "In", "being", "modern."]
    assert words[3][1] >= 72.43, "In moved to its sentence"


def test_a_word_stretched_over_what_whisper_passed_over_stands_on_nothing():
    """Measured: a window opened with "five five" (two spans of voice) and came back as "I believe ...", the "I"
    timed over 1.3 s from the window's start, its middle on the first "five"."""
    [window] = plan_windows((R(56.56, 69.52),), limit=29.0)
    spans = (R(56.96, 57.38), R(57.54, 57.89), R(58.46, 60.67))
    i = Segment(0.0, 1.3, " I", (Word(" I", 0.0, 1.3),))
    rest = _seg(57.86 - 56.56, 60.6 - 56.56)
    [again] = skipped(window, (i, rest), spans)
    assert again.start == pytest.approx(56.56) and again.end == pytest.approx((57.89 + 58.46) / 2)
    quick = Segment(0.0, 1.3, " I", (Word(" I", 0.98, 1.3),))  # a plausible "I" on the second span
    [first] = skipped(window, (quick, rest), spans)
    assert first.end == pytest.approx((57.38 + 57.54) / 2), "0.42 s of voice opening the region: worth a decode"
