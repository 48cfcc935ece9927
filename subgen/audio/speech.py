"""Engine-agnostic VAD use: decode only the speech regions, then map times back onto the media's timeline."""

from __future__ import annotations

import bisect
import functools
import itertools
from collections import Counter
from collections.abc import Callable
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
        # A word that began in an earlier span and only pokes into this one (Whisper's ends lag) does not open it.
        while cursor < len(words) and words[cursor].end <= span.start + (
            OPEN_SLACK if words[cursor].start < previous_end else 0.0
        ):
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


def pieces_of(windows: tuple[Window, ...]) -> tuple[Piece, ...]:
    """Every region the windows join, in time order (windows are planned in time order)."""
    return tuple(p for w in windows for p in w.time_map.pieces)


FOLLOW_UP_VOICE = 0.5
"""Seconds of voice left after a window's last decoded word that make the rest worth a second decode."""
REGION_VOICE = 0.25
"""Seconds of voice that make a whole region without a word worth a second decode: VAD's shortest speech (seen:
"seven of clubs" through a telephone band, 1.2 s said, 0.29 s heard as voice, the last region of its window)."""


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
    parts, whole = [], False
    for piece in window.time_map.pieces:
        if piece.condensed_end <= covered:
            continue
        part = SpeechRegion(piece.source_start + max(0.0, covered - piece.condensed_start), piece.source_end)
        voice = _voice([part], spans)
        if voice > 0:  # a tail of padding after the last word is not worth decoding
            parts.append(part)
            whole |= piece.condensed_start >= covered and voice >= REGION_VOICE
    return tuple(parts) if whole or _voice(parts, spans) >= FOLLOW_UP_VOICE else ()


SKIP_PAD = 0.4
"""Seconds of audio kept around a passed-over stretch of voice decoded again (VAD's own speech padding)."""


def _wordless_runs(spans: list[SpeechRegion], middles: list[float]) -> list[list[SpeechRegion]]:
    """Runs of consecutive voice ``spans`` that no word (by its middle) stands on."""
    runs: list[list[SpeechRegion]] = [[]]
    for span in spans:
        if any(span.start <= m <= span.end for m in middles):
            runs.append([])
        else:
            runs[-1].append(span)
    return [r for r in runs if r]


def _around(run: list[SpeechRegion], spans: list[SpeechRegion], piece: Piece) -> SpeechRegion:
    """The stretch of ``piece`` to decode for ``run``: the whole piece when the run is all its voice, else the
    run padded by up to ``SKIP_PAD`` s, never past half the pause to the voice either side."""
    if len(run) == len(spans):
        return SpeechRegion(piece.source_start, piece.source_end)
    first, last = spans.index(run[0]), spans.index(run[-1])
    low = (spans[first - 1].end + run[0].start) / 2 if first > 0 else piece.source_start
    high = (run[-1].end + spans[last + 1].start) / 2 if last + 1 < len(spans) else piece.source_end
    return SpeechRegion(max(low, run[0].start - SKIP_PAD), min(high, run[-1].end + SKIP_PAD))


def _strays(segments: tuple[Segment, ...], pieces: tuple[Piece, ...]) -> set[int]:
    """Words (by id) alone in their piece whose sentence goes on, in the same segment, in a later piece.

    Whisper passing over a joined region often stretches the next region's first word back over it (seen: "In",
    the first word of "in being comparatively modern", 20 s early on the voice of "ten of clubs"); such a word
    does not show that the region's voice was decoded.
    """
    strays = set()
    piece_of = _piece_finder(pieces)
    held = Counter(piece_of(w) for s in segments for w in s.words)
    for segment in segments:
        at = [piece_of(w) for w in segment.words]
        for k, word in enumerate(segment.words[:-1]):
            alone = held[at[k]] == 1 and at[k + 1] > at[k]
            if alone and not word.text.strip().endswith(SENTENCE_END):
                strays.add(id(word))
    return strays


def skipped(window: Window, segments: tuple[Segment, ...], spans: tuple[SpeechRegion, ...]) -> tuple[SpeechRegion, ...]:
    """Stretches of voice in ``window`` before its last decoded word that no word stands on, worth decoding
    again on their own (at least ``FOLLOW_UP_VOICE`` s of voice in a row, ``REGION_VOICE`` s when the stretch opens
    its region: Whisper passing over a region's first words is the failure seen).

    Batched text-only decoding sometimes passes over a whole joined region (seen: the first of three regions,
    a 3 s sentence after 17 s of noise, came back without a word while the next two were decoded), or a short
    utterance at a window's start ("seven of clubs" before a long sentence, whose first word Whisper stretched
    back over it). A word stretched over twice its plausible length stands on nothing: its time is what Whisper
    passed over. ``segments`` are the window's decode (times from its start).
    """
    placed = window.to_source(segments)
    words = [w for s in placed for w in s.words]
    if not words:
        return ()
    strays = _strays(placed, window.time_map.pieces)
    standing = [w for w in words if id(w) not in strays and not _stretched(w)]
    middles, last = _middles(standing), max(w.start for w in words)
    out = []
    for piece in window.time_map.pieces:
        inside = [s for s in spans if s.end > piece.source_start and s.start < piece.source_end]
        for run in _wordless_runs(inside, middles):
            enough = REGION_VOICE if run[0] is inside[0] else FOLLOW_UP_VOICE
            if run[-1].end <= last and _voice(run, tuple(inside)) >= enough:
                out.append(_around(run, inside, piece))
    return tuple(out)


WORD_SECONDS = (0.25, 0.1)
"""A plausible longest time for a word: this many seconds, plus this many per letter (a slow "I" in 0.35 s)."""


def _stretched(word: Word) -> bool:
    """Whether ``word`` lasts over twice as long as its letters plausibly take: Whisper's word alignment gives the
    time of words it passed over to the next word it wrote (seen: "I" for 1.3 s over "five five")."""
    letters = sum(c.isalnum() for c in word.text)
    return word.end - word.start > 2 * (WORD_SECONDS[0] + WORD_SECONDS[1] * letters)


SENTENCE_END = (".", "!", "?", "。", "！", "？", "…")
"""Marks after which a word closes what was said before a join rather than opening what follows it."""


def _piece_finder(pieces: tuple[Piece, ...]) -> Callable[[Word], int]:
    """A function giving the index of the piece (in time order) whose source span holds a word's middle, or
    the nearest piece when the middle falls between two."""
    starts = [p.source_start for p in pieces]

    def piece_of(word: Word) -> int:
        middle = (word.start + word.end) / 2
        i = max(bisect.bisect_right(starts, middle) - 1, 0)
        near = range(i, min(i + 2, len(pieces)))
        return min(near, key=lambda k: max(pieces[k].source_start - middle, middle - pieces[k].source_end, 0.0))

    return piece_of


def _on_voice(word: Word, spans: tuple[SpeechRegion, ...]) -> bool:
    return any(s.start <= word.end and s.end >= word.start for s in spans)


def _middles(words: list[Word]) -> list[float]:
    return [(w.start + w.end) / 2 for w in words]


def _wordless(spans: list[SpeechRegion], middles: list[float]) -> list[SpeechRegion]:
    return [s for s in spans if not any(s.start <= m <= s.end for m in middles)]


@dataclass(frozen=True)
class _Join:
    """The two pieces either side of a join, with their voice spans and the words (all but the one in question)."""

    before: Piece
    after: Piece
    before_words: list[Word]
    after_words: list[Word]
    before_spans: list[SpeechRegion]
    after_spans: list[SpeechRegion]

    def voice_left_before(self) -> SpeechRegion | None:
        """The last voice span of the earlier piece after all its words, that none of them stands on."""
        last = max(_middles(self.before_words), default=-1.0)
        spans = _wordless([s for s in self.before_spans if s.start >= last], _middles(self.before_words))
        return spans[-1] if spans else None

    def voice_left_after(self) -> SpeechRegion | None:
        """The first voice span of the later piece before all its words, that none of them stands on."""
        first = min(_middles(self.after_words), default=float("inf"))
        spans = _wordless([s for s in self.after_spans if s.end <= first], _middles(self.after_words))
        return spans[0] if spans else None

    def place_before(self, word: Word) -> Word:
        """``word`` at the end of the earlier piece: on its voice left without words, else after its last word."""
        span = self.voice_left_before()
        if span is not None:
            return replace(word, start=span.start, end=span.end)
        start = max((w.end for w in self.before_words), default=self.before.source_start)
        return replace(word, start=start, end=max(start, min(start + word.end - word.start, self.before.source_end)))

    def place_after(self, word: Word) -> Word:
        """``word`` at the start of the later piece: on its voice left without words, else before its first word."""
        span = self.voice_left_after()
        if span is not None:
            return replace(word, start=span.start, end=span.end)
        onset = self.after_spans[0].start if self.after_spans else self.after.source_start
        following = min((w.start for w in self.after_words), default=onset + word.end - word.start)
        end = max(min(following, onset + word.end - word.start), min(onset, following))
        return replace(word, start=min(onset, end), end=end)


def _join(at: list[int], k: int) -> tuple[int, int] | None:
    """The pieces either side of the join word ``k`` of a segment sits at (``at``: each word's piece): it ends
    its piece before the segment goes on in a later one, or opens one after an earlier one."""
    if k + 1 < len(at) and at[k + 1] > at[k] and (k == 0 or at[k - 1] == at[k]):
        return at[k], at[k + 1]
    if k > 0 and at[k - 1] < at[k] and (k + 1 == len(at) or at[k + 1] == at[k]):
        return at[k - 1], at[k]
    return None


def _shares_time(word: Word, others: list[Word]) -> bool:
    """Whether another decode put a word on most of ``word``'s time (or ``word`` on most of its)."""
    for other in others:
        overlap = min(word.end, other.end) - max(word.start, other.start)
        if overlap > 0 and overlap >= 0.5 * min(word.end - word.start, other.end - other.start):
            return True
    return False


def settle_join_words(
    segments: tuple[Segment, ...], pieces: tuple[Piece, ...], spans: tuple[SpeechRegion, ...]
) -> tuple[Segment, ...]:
    """Words Whisper timed across a join, onto no voice or onto another decode's words, moved to the side of the
    join they were said on.

    With regions joined by short silences, Whisper's word times blur at the joins inside a segment: the first
    word of the next region often lands at the end of the one before (seen: "7 of clubs For", the "For" spoken
    23 s later), or on a region it passed over ("In" on the voice of "ten of clubs", which the region decoded
    again alone then wrote), or a region's last word at the start of the next ("Five," then "five." 3 s later,
    before "All nouns"). Such a word goes to the side of the join that has voice no other word stands on; when
    neither or both have, a word ending a sentence goes back, any other word forward. ``segments`` are a whole
    clip's decode (follow-ups included), ``pieces`` every region its windows joined, in time order.
    """
    if len(pieces) < 2:
        return segments
    piece_of = _piece_finder(pieces)
    owner = {id(w): n for n, s in enumerate(segments) for w in s.words}
    held: dict[int, list[Word]] = {}
    for w in (w for s in segments for w in s.words):
        held.setdefault(piece_of(w), []).append(w)
    moved: dict[int, Word] = {}
    for n, segment in enumerate(segments):
        at = [piece_of(w) for w in segment.words]
        for k, word in enumerate(segment.words):
            sides = _join(at, k)
            if sides is None:
                continue
            rivals = [w for w in held.get(at[k], []) if owner[id(w)] != n]
            if _on_voice(word, spans) and not _shares_time(word, rivals):
                continue
            placed = _settled(word, sides, at[k], pieces, held, spans)
            if placed is not None:
                moved[id(word)] = placed
    if not moved:
        return segments
    out = (_with_words(s, tuple(moved.get(id(w), w) for w in s.words)) for s in segments)
    return tuple(sorted(out, key=lambda s: (s.start, s.end)))


def _settled(
    word: Word,
    sides: tuple[int, int],
    here: int,
    pieces: tuple[Piece, ...],
    held: dict[int, list[Word]],
    spans: tuple[SpeechRegion, ...],
) -> Word | None:
    """``word`` placed on its side of the join between pieces ``sides``; None when it is there already."""
    a, b = sides

    def inside(p: Piece) -> list[SpeechRegion]:
        return [s for s in spans if s.end > p.source_start and s.start < p.source_end]

    others = [[w for w in held.get(i, []) if w is not word] for i in sides]
    join = _Join(pieces[a], pieces[b], others[0], others[1], inside(pieces[a]), inside(pieces[b]))
    back, ahead = join.voice_left_before() is not None, join.voice_left_after() is not None
    go_back = back if back != ahead else word.text.strip().endswith(SENTENCE_END)
    if go_back and here != a:
        return join.place_before(word)
    if not go_back and here != b:
        return join.place_after(word)
    return None
