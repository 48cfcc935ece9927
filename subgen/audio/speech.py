"""Engine-agnostic VAD use: decode only the speech regions, then map times back onto the media's timeline."""

from __future__ import annotations

import bisect
import functools
import itertools
from dataclasses import dataclass, replace

import numpy as np

from subgen.audio.media import AudioClip
from subgen.core.options import WINDOW_SECONDS
from subgen.core.types import Segment, SpeechRegion, Transcript, Word

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


def _word(word: Word, time_map: TimeMap) -> Word:
    start, end = time_map.word_to_source(word.start, word.end)
    return replace(word, start=start, end=end)


def _segment(segment: Segment, time_map: TimeMap) -> Segment:
    words = tuple(_word(w, time_map) for w in segment.words)
    if words:  # the segment spans its words, which may have been clipped to their regions
        return replace(segment, start=min(w.start for w in words), end=max(w.end for w in words), words=words)
    start, end = time_map.span_to_source(segment.start, segment.end)
    return replace(segment, start=start, end=end)


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


@dataclass(frozen=True)
class Window:
    """Up to ``WINDOW_SECONDS`` of one clip's speech regions, joined by short silences, and the map back."""

    time_map: TimeMap
    join_silence: float = JOIN_SILENCE

    @property
    def duration(self) -> float:
        """Seconds of audio the decoder hears."""
        return self.time_map.pieces[-1].condensed_end if self.time_map.pieces else 0.0

    @property
    def source_start(self) -> float:
        """Where the window's first region starts on the clip's timeline."""
        return self.time_map.pieces[0].source_start

    @property
    def source_end(self) -> float:
        """Where the window's last region ends on the clip's timeline."""
        return self.time_map.pieces[-1].source_end

    def samples(self, clip: AudioClip) -> np.ndarray:
        """The window's audio, read from ``clip`` (whose samples may be on disk) piece by piece."""
        rate = clip.sample_rate
        out = np.zeros(round(self.duration * rate), dtype=np.float32)
        for piece in self.time_map.pieces:
            a = round(piece.source_start * rate)
            part = np.asarray(clip.samples[a : a + round((piece.source_end - piece.source_start) * rate)])
            at = round(piece.condensed_start * rate)
            out[at : at + len(part)] = part[: len(out) - at]
        return out

    def to_source(self, segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
        """Segments decoded from this window (times from its start) moved onto the clip's timeline."""
        return tuple(_segment(s, self.time_map) for s in segments)


def split_long(
    region: SpeechRegion, spans: tuple[SpeechRegion, ...], limit: float = WINDOW_SECONDS
) -> list[SpeechRegion]:
    """``region`` cut into parts no longer than ``limit``, each cut in the middle of a pause between voice spans.

    A stretch without any pause that long is cut hard at ``limit`` (rare: voice spans split at 0.15 s pauses).
    """
    parts, start = [], region.start
    # Candidate cut points: the middle of every pause between consecutive voice spans inside the region.
    inside = [s for s in spans if s.end > region.start and s.start < region.end]
    pauses = [(a.end + b.start) / 2 for a, b in itertools.pairwise(inside) if b.start > a.end]
    while region.end - start > limit:
        fitting = [p for p in pauses if start + 1.0 < p <= start + limit]
        cut = fitting[-1] if fitting else start + limit
        parts.append(SpeechRegion(start, cut))
        start = cut
    parts.append(SpeechRegion(start, region.end))
    return parts


def plan_windows(
    regions: tuple[SpeechRegion, ...],
    spans: tuple[SpeechRegion, ...] = (),
    limit: float = WINDOW_SECONDS,
    join_silence: float = JOIN_SILENCE,
) -> tuple[Window, ...]:
    """Consecutive speech regions packed into decode windows of at most ``limit`` seconds of condensed audio.

    Packing regions densely is what makes VAD pay twice: the silence between them is never encoded, and a
    batch of full windows keeps the decoder busy. Regions longer than a window are split at pauses first.
    """
    windows: list[Window] = []
    pieces: list[Piece] = []
    cursor = 0.0
    for part in (p for r in regions for p in split_long(r, spans, limit)):
        length = part.end - part.start
        if length <= 0:
            continue
        if pieces and cursor + join_silence + length > limit:
            windows.append(Window(TimeMap(tuple(pieces)), join_silence))
            pieces, cursor = [], 0.0
        if pieces:
            cursor += join_silence
        pieces.append(Piece(part.start, part.end, cursor))
        cursor += length
    if pieces:
        windows.append(Window(TimeMap(tuple(pieces)), join_silence))
    return tuple(windows)


FOLLOW_UP_VOICE = 0.5
"""Seconds of voice left after a window's last decoded word that make the rest worth a second decode."""


def _voice(regions: list[SpeechRegion], spans: tuple[SpeechRegion, ...]) -> float:
    return sum(max(0.0, min(r.end, s.end) - max(r.start, s.start)) for r in regions for s in spans)


def undecoded(
    window: Window, segments: tuple[Segment, ...], spans: tuple[SpeechRegion, ...]
) -> tuple[SpeechRegion, ...]:
    """The regions of ``window`` Whisper left undecoded at its end; empty when no voice worth decoding is left.

    Whisper sometimes ends a window early (its last timestamp before a joined region) and would, in its
    sequential loop, seek there and go on; batched decoding does the same by decoding the rest again.
    ``segments`` are the window's decode (times from its start); only voice after their end counts.
    """
    ends = [s.end for s in segments] + [w.end for s in segments for w in s.words]
    if not ends:
        return ()  # nothing decoded: the model heard no speech in the whole window
    covered = max(ends)
    parts = []
    for piece in window.time_map.pieces:
        if piece.condensed_end <= covered:
            continue
        part = SpeechRegion(piece.source_start + max(0.0, covered - piece.condensed_start), piece.source_end)
        if _voice([part], spans) > 0:  # a tail of padding after the last word is not worth decoding
            parts.append(part)
    return tuple(parts) if _voice(parts, spans) >= FOLLOW_UP_VOICE else ()


def skipped(window: Window, segments: tuple[Segment, ...], spans: tuple[SpeechRegion, ...]) -> tuple[SpeechRegion, ...]:
    """Regions of ``window`` before its last decoded word that got no word although VAD heard voice in them.

    Batched text-only decoding sometimes passes over a whole joined region (seen: the first of three regions,
    a 3 s sentence after 17 s of noise, came back without a word while the next two were decoded). Each such
    region is worth decoding again on its own. ``segments`` are the window's decode (times from its start).
    """
    words = [(w.start + w.end) / 2 for s in segments for w in s.words]
    if not words:
        return ()
    last = max(w.end for s in segments for w in s.words)
    out = []
    for piece in window.time_map.pieces:
        if piece.condensed_end > last or any(piece.condensed_start <= t <= piece.condensed_end for t in words):
            continue
        region = SpeechRegion(piece.source_start, piece.source_end)
        if _voice([region], spans) >= FOLLOW_UP_VOICE:
            out.append(region)
    return tuple(out)
