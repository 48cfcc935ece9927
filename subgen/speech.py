"""Engine-agnostic VAD use: decode only the speech regions, then map times back onto the media's timeline."""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from subgen.engines.base import ProgressFn, Segment, Transcript, Word
from subgen.media import AudioClip
from subgen.vad import SpeechRegion

JOIN_SILENCE = 0.2
"""Seconds of digital silence between joined regions, so the decoder hears a boundary, not a splice."""


@dataclass(frozen=True)
class Piece:
    """One speech region as placed in the condensed clip."""

    source_start: float
    source_end: float
    condensed_start: float

    @property
    def condensed_end(self) -> float:
        """Where this region ends in the condensed clip."""
        return self.condensed_start + self.source_end - self.source_start


@dataclass(frozen=True)
class TimeMap:
    """Converts times on the condensed clip back to the source timeline."""

    pieces: tuple[Piece, ...]

    @functools.cached_property
    def _starts(self) -> list[float]:
        """Condensed start of each piece, for bisection (pieces are in timeline order)."""
        return [p.condensed_start for p in self.pieces]

    def to_source(self, t: float, *, is_end: bool = False) -> float:
        """The source time of condensed time ``t``; a time in a join gap snaps to the region it belongs to.

        A start in a gap moves to the next region's start, an end in a gap to the previous region's end,
        so a word or segment never stretches across the non-speech that was cut out.
        """
        if not self.pieces:
            return t
        i = bisect.bisect_right(self._starts, t) - 1
        if i < 0:
            return self.pieces[0].source_start
        piece = self.pieces[i]
        if t <= piece.condensed_end:
            return piece.source_start + (t - piece.condensed_start)
        if is_end or i + 1 == len(self.pieces):
            return piece.source_end
        return self.pieces[i + 1].source_start

    def span_to_source(self, start: float, end: float) -> tuple[float, float]:
        """Both ends of a span mapped separately, kept in order (a segment may cover several regions)."""
        s = self.to_source(start)
        return s, max(s, self.to_source(end, is_end=True))

    def word_to_source(self, start: float, end: float) -> tuple[float, float]:
        """A word's span, kept inside the one region that holds most of it.

        Whisper often starts an utterance's first word early, in the region before; mapping its ends
        separately would stretch it over the non-speech that was cut out, so it is clipped to one region.
        """
        # Only the pieces from the one holding ``start`` to the last starting before ``end`` can overlap it.
        first = max(bisect.bisect_right(self._starts, start) - 1, 0)
        candidates = self.pieces[first : bisect.bisect_left(self._starts, end)]
        shares = [min(end, p.condensed_end) - max(start, p.condensed_start) for p in candidates]
        if not shares or max(shares) <= 0:
            return self.span_to_source(start, end)
        piece = candidates[shares.index(max(shares))]
        a, b = max(start, piece.condensed_start), min(end, piece.condensed_end)
        offset = piece.source_start - piece.condensed_start
        return a + offset, b + offset


def condense(
    clip: AudioClip, regions: tuple[SpeechRegion, ...], join_silence: float = JOIN_SILENCE
) -> tuple[AudioClip, TimeMap]:
    """A clip of only the speech regions (``join_silence`` apart) and the map back to ``clip``'s timeline."""
    rate = clip.sample_rate
    gap = np.zeros(round(join_silence * rate), dtype=np.float32)
    parts, pieces, cursor = [], [], 0
    for region in regions:
        a, b = round(region.start * rate), round(region.end * rate)
        if b <= a:
            continue
        if parts:
            parts.append(gap)
            cursor += len(gap)
        pieces.append(Piece(a / rate, b / rate, cursor / rate))
        parts.append(clip.samples[a:b])
        cursor += b - a
    samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return replace(clip, samples=samples), TimeMap(tuple(pieces))


def _word(word: Word, time_map: TimeMap) -> Word:
    start, end = time_map.word_to_source(word.start, word.end)
    return replace(word, start=start, end=end)


def _segment(segment: Segment, time_map: TimeMap) -> Segment:
    words = tuple(_word(w, time_map) for w in segment.words)
    if words:  # the segment spans its words, which may have been clipped to their regions
        return replace(segment, start=min(w.start for w in words), end=max(w.end for w in words), words=words)
    start, end = time_map.span_to_source(segment.start, segment.end)
    return replace(segment, start=start, end=end)


def remap(transcript: Transcript, time_map: TimeMap, duration: float) -> Transcript:
    """``transcript`` of a condensed clip with every segment and word on the source timeline of ``duration`` s."""
    segments = tuple(_segment(s, time_map) for s in transcript.segments)
    return replace(transcript, segments=segments, duration=duration)


DecodeFn = Callable[[AudioClip, ProgressFn], Transcript]
"""Transcribes a clip, reporting decoded seconds of that clip."""


def decode_speech(
    clip: AudioClip, regions: tuple[SpeechRegion, ...], decode: DecodeFn, progress: ProgressFn
) -> Transcript:
    """Decode only ``regions`` of ``clip``; the transcript and the progress reports are on ``clip``'s timeline."""
    condensed, time_map = condense(clip, regions)
    transcript = decode(condensed, lambda done: progress(time_map.to_source(done, is_end=True)))
    return remap(transcript, time_map, clip.duration)


ALIGN_REACH = 0.6
"""How far (seconds) a word's start or end may move to meet the voice onset or offset VAD heard."""
OPEN_SLACK = 0.15
"""A word still opens a span when the word before it runs this far into the span (Whisper's ends lag)."""


def align_to_voice(transcript: Transcript, spans: tuple[SpeechRegion, ...], reach: float = ALIGN_REACH) -> Transcript:
    """Words that open a stretch of voice start at its onset, words that close one end at its offset.

    Whisper's word times drift by a few hundred milliseconds around pauses (a first word often starts
    inside the silence before it, or late); VAD's onsets are accurate to its 32 ms windows.
    """
    words = [w for s in transcript.segments for w in s.words]
    if not words or not spans:
        return transcript
    moved = {id(w): w for w in words}
    cursor, previous_end = 0, 0.0
    for span in spans:
        while cursor < len(words) and words[cursor].end <= span.start:
            cursor += 1
        last = cursor
        while last < len(words) and words[last].start < span.end:
            last += 1
        if last == cursor:
            continue
        first, last = cursor, last - 1
        if first == 0 or words[first - 1].end <= span.start + OPEN_SLACK:
            # A start in the silence before the span moves to the onset however far; otherwise within reach.
            in_silence = previous_end <= words[first].start < span.start
            far = float("inf") if in_silence else reach
            _move(moved, words[first], start=span.start, reach=far)
        if last + 1 == len(words) or words[last + 1].start >= span.end:
            _move(moved, words[last], end=span.end, reach=reach)
        previous_end = span.end
    segments = tuple(_with_words(s, tuple(moved[id(w)] for w in s.words)) for s in transcript.segments)
    return replace(transcript, segments=segments)


def _move(
    moved: dict[int, Word], word: Word, *, start: float | None = None, end: float | None = None, reach: float
) -> None:
    current = moved[id(word)]
    if start is not None and abs(current.start - start) <= reach and start < current.end:
        current = replace(current, start=start)
    if end is not None and current.end < end <= current.end + reach:
        current = replace(current, end=end)
    moved[id(word)] = current


def _with_words(segment: Segment, words: tuple[Word, ...]) -> Segment:
    if not words:
        return segment
    return replace(segment, start=min(w.start for w in words), end=max(w.end for w in words), words=words)
