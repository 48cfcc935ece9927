"""Decode windows: packing speech regions, cutting long ones at pauses, the rest Whisper left undecoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from subgen.audio.media import SAMPLE_RATE, AudioClip
from subgen.audio.speech import JOIN_SILENCE, WINDOW_SECONDS, plan_windows, skipped, split_long, undecoded
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
    return Segment(start, end, " words", (Word(" words", start, end),))


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
    spans = (R(0.8, 1.1), R(20.4, 25.6))  # 0.3 s of voice in the first region
    assert skipped(window, (_seg(2.0 + JOIN_SILENCE + 0.4, 2.0 + JOIN_SILENCE + 5.6),), spans) == ()
