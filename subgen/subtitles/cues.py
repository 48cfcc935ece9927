"""Turn a Transcript into readable subtitle cues: boundaries, line breaks and timing are decided here only.

Cue boundaries are chosen by dynamic programming over the words, under hard limits (lines x characters,
maximum duration, no pause longer than ``max_pause`` inside a cue) and soft costs that prefer sentence ends,
then pauses and clause punctuation, and avoid ending on an article, preposition or conjunction. Each cue
then starts at its first word; its out-time is extended for reading speed and minimum duration where the
gap allows, short gaps are closed and every gap keeps the minimum of two frames. Where speech is faster than
the reading speed, a cue stays up to a second after its words and delays the cue continuing the speech.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from subgen.core.options import CueOptions
from subgen.core.types import Cue, Segment, Transcript, Word
from subgen.subtitles.readability import reading_chars

MIN_CUE_SECONDS = 0.2

_SENTENCE_END = re.compile(r"[.!?…。！？]['\"”’»)\]]*$")
_CLAUSE_END = re.compile(r"[,;:—–、，；：]['\"”’»)\]]*$")
_CJK = ("zh", "ja", "ko", "yue")

# Words a line or cue should not end on in English: articles, prepositions, conjunctions.
_WEAK_EN_WORDS = """a an the of in on at to for with from by about into onto over under after before between through
    during without within upon against among across toward towards per via and or but nor so yet because if
    than as while although though since unless until whether when where that this these those my your his her
    its our their"""
_WEAK_EN = frozenset(_WEAK_EN_WORDS.split())

# Soft costs of the cue segmentation (units: one extra cue costs CUE_COST).
CUE_COST = 1.0
BREAK_COST = {"end": 0.0, "pause": 0.0, "sentence": 0.0, "clause": 0.6, "segment": 1.2, "word": 3.0}
WEAK_END_COST = 4.0
BEFORE_WEAK_BONUS = 0.8
BREATH_BONUS = 1.6
BREATH_SECONDS = 0.4
INNER_SENTENCE_COST = 1.4
INNER_CLAUSE_COST = 0.3
INNER_PAUSE_COST = 1.6
SHORT_CUE_COST = 10.0
FAST_CUE_COST = 20.0
BROKEN_RULE_COST = 4.0
SPARSE_CUE_COST = 0.8


def _join(words: Sequence[Word]) -> str:
    return "".join(w.text for w in words).strip()


def _bare(word: Word) -> str:
    return word.text.strip().lower().strip("\"'“”‘’«»()[]")


def _is_weak(word: Word, language: str) -> bool:
    return language == "en" and _bare(word) in _WEAK_EN


def _line_count(words: Sequence[Word], max_chars: int) -> int:
    """Lines needed when filled greedily (the fewest possible without splitting words)."""
    lines, width = 1, 0
    for word in words:
        piece = word.text if width else word.text.lstrip()
        if width and width + len(piece) > max_chars:
            lines, width, piece = lines + 1, 0, word.text.lstrip()
        width += len(piece)
    return lines


# --- line breaks -----------------------------------------------------------------------------------


def _line_break_cost(word: Word, following: Word, language: str) -> float:
    """Cost, in characters of imbalance, of ending a line after ``word`` (before ``following``)."""
    text = word.text.strip()
    if _SENTENCE_END.search(text):
        return -28.0
    if _CLAUSE_END.search(text):
        return -20.0
    if _is_weak(word, language):
        return 15.0
    return -4.0 if _is_weak(following, language) else 0.0


def break_lines(words: Sequence[Word], max_chars: int, max_lines: int, language: str = "en") -> tuple[str, ...]:
    """The cue's text in as few lines as fit, broken where the lines balance and read naturally."""
    text = _join(words)
    if len(text) <= max_chars or len(words) == 1:
        return (text,)
    needed = _line_count(words, max_chars)
    if needed > max_lines:
        return tuple(_greedy_lines(words, max_chars))
    best = _best_split(tuple(words), needed, max_chars, language)
    return best[1] if best else tuple(_greedy_lines(words, max_chars))


def _greedy_lines(words: Sequence[Word], max_chars: int) -> list[str]:
    lines: list[list[Word]] = [[]]
    for word in words:
        if lines[-1] and len(_join([*lines[-1], word])) > max_chars:
            lines.append([])
        lines[-1].append(word)
    return [_join(line) for line in lines]


def _best_split(
    words: tuple[Word, ...], n_lines: int, max_chars: int, language: str
) -> tuple[float, tuple[str, ...]] | None:
    """Cheapest split into exactly ``n_lines`` lines: imbalance plus break costs (small inputs only)."""
    if n_lines == 1:
        text = _join(words)
        return (0.0, (text,)) if len(text) <= max_chars else None
    best: tuple[float, tuple[str, ...]] | None = None
    for cut in range(1, len(words) - n_lines + 2):
        head = _join(words[:cut])
        if len(head) > max_chars:
            break
        rest = _best_split(words[cut:], n_lines - 1, max_chars, language)
        if rest is None:
            continue
        lines = (head, *rest[1])
        widths = [len(line) for line in lines]
        # A slightly longer lower line is the classic "pyramid" shape; a longer upper line costs a little.
        cost = max(widths) - min(widths) + (1.0 if widths[0] > widths[-1] else 0.0)
        cost += rest[0] + _line_break_cost(words[cut - 1], words[cut], language)
        if best is None or cost < best[0]:
            best = (cost, lines)
    return best


def wrap(words: list[Word], max_chars: int, max_lines: int) -> tuple[str, ...] | None:
    """The words broken into at most ``max_lines`` lines of ``max_chars``, or None if they do not fit."""
    if len(words) > 1 and _line_count(words, max_chars) > max_lines:
        return None
    return break_lines(words, max_chars, max_lines)


# --- words ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """A word with what follows it: the pause after it and the kind of boundary it ends."""

    word: Word
    pause: float
    boundary: str
    next_weak: bool = False


def _words_of(segment: Segment) -> list[Word]:
    if segment.words:
        return [w for w in segment.words if w.text.strip()]
    # No word timings: spread the segment's words evenly over its span.
    tokens = segment.text.split()
    if not tokens:
        return []
    step = (segment.end - segment.start) / len(tokens)
    return [Word(" " + t, segment.start + i * step, segment.start + (i + 1) * step) for i, t in enumerate(tokens)]


def _monotonic(words: list[Word]) -> list[Word]:
    """Words with start <= end and no word starting before the previous one started."""
    fixed: list[Word] = []
    for word in words:
        start = max(word.start, fixed[-1].start if fixed else 0.0)
        fixed.append(replace(word, start=start, end=max(word.end, start)))
    return fixed


def _glue(words: list[Word], language: str) -> list[Word]:
    """Join pieces that continue a word (no leading space, e.g. "-range", "'s") so no word is ever split."""
    if language == "cjk":
        return words
    glued: list[Word] = []
    for word in words:
        if glued and not word.text[:1].isspace():
            prev = glued[-1]
            glued[-1] = Word(
                prev.text + word.text, prev.start, max(prev.end, word.end), min(prev.probability, word.probability)
            )
        else:
            glued.append(word)
    return glued


def _slots(transcript: Transcript, max_pause: float, language: str) -> list[_Slot]:
    words: list[Word] = []
    segment_ends: set[int] = set()
    for segment in transcript.segments:
        words.extend(_glue(_words_of(segment), language))
        segment_ends.add(len(words) - 1)
    words = _monotonic(words)
    slots = []
    for i, word in enumerate(words):
        pause = words[i + 1].start - word.end if i + 1 < len(words) else float("inf")
        next_weak = i + 1 < len(words) and _is_weak(words[i + 1], language)
        slots.append(_Slot(word, pause, _boundary(word, pause, i in segment_ends, max_pause), next_weak))
    return slots


def _boundary(word: Word, pause: float, segment_end: bool, max_pause: float) -> str:
    text = word.text.strip()
    if pause == float("inf"):
        return "end"
    if pause > max_pause:
        return "pause"
    if _SENTENCE_END.search(text):
        return "sentence"
    if _CLAUSE_END.search(text):
        return "clause"
    return "segment" if segment_end else "word"


def _break_cost(slot: _Slot, language: str) -> float:
    """Cost of ending a cue after this slot's word."""
    cost = BREAK_COST[slot.boundary]
    if slot.boundary in ("end", "pause", "sentence"):
        return cost
    cost -= BREATH_BONUS * min(max(slot.pause, 0.0) / BREATH_SECONDS, 1.0)
    if _is_weak(slot.word, language):
        cost += WEAK_END_COST
    elif slot.next_weak:
        cost -= BEFORE_WEAK_BONUS
    return max(cost, 0.0)


# --- cue boundaries --------------------------------------------------------------------------------


def _fits(slots: Sequence[_Slot], options: CueOptions) -> bool:
    if len(slots) == 1:
        return True
    first, last = slots[0].word, slots[-1].word
    if last.end - first.start > options.max_duration:
        return False
    if any(s.pause > options.max_pause for s in slots[:-1]):
        return False
    return _line_count([s.word for s in slots], options.max_chars) <= options.max_lines


def _reading_seconds(chars: int, n_words: int, options: CueOptions) -> float:
    """The shortest time on screen these characters/words need at the preset's reading speed."""
    need = options.min_duration
    if options.max_cps:
        need = max(need, chars / options.max_cps)
    if options.max_wpm:
        need = max(need, n_words * 60.0 / options.max_wpm)
    return need


def _inner_cost(slot: _Slot) -> float:
    """Cost of a boundary that stays inside a cue: a sentence end, a clause, a pause."""
    cost = INNER_PAUSE_COST * min(max(slot.pause, 0.0) / BREATH_SECONDS, 1.0)
    if slot.boundary == "sentence":
        cost += INNER_SENTENCE_COST
    elif slot.boundary in ("clause", "segment"):
        cost += INNER_CLAUSE_COST
    return cost


def _cue_cost(slots: Sequence[_Slot], options: CueOptions, language: str) -> float:
    last = slots[-1]
    cost = CUE_COST + _break_cost(last, language)
    cost += sum(_inner_cost(s) for s in slots[:-1])
    chars = len(_join([s.word for s in slots]))
    if last.boundary not in ("end", "pause", "sentence"):
        # A cue cut mid-sentence should carry a fair share of text, not leave a fragment behind.
        cost += SPARSE_CUE_COST * max(0.0, 1.0 - chars / options.max_chars)
    # The same out-time the cue will get (reading speed, minimum duration, closed gaps, two-frame gap);
    # the joined text counts a line break as a space, so the estimate errs on the safe side.
    first = round(slots[0].word.start, 3)
    next_start = None if last.pause == float("inf") else round(last.word.end + last.pause, 3)
    available = _out_time(first, last.word.end, chars, len(slots), next_start, options) - first
    if available < options.min_duration - 5e-4:
        cost += BROKEN_RULE_COST + SHORT_CUE_COST * (1.0 - available / options.min_duration)
    need = _reading_seconds(chars, len(slots), options)
    if available < need - 5e-4:
        cost += BROKEN_RULE_COST + FAST_CUE_COST * (need / max(available, 1e-3) - 1.0)
    return cost


def _segment(slots: list[_Slot], options: CueOptions, language: str) -> list[tuple[int, int]]:
    """Optimal cue spans (start, stop) over the slots."""
    n = len(slots)
    best = [0.0] + [float("inf")] * n
    back = [0] * (n + 1)
    for i in range(n):
        if best[i] == float("inf"):
            continue
        for j in range(i + 1, n + 1):
            span = slots[i:j]
            if not _fits(span, options):
                break
            cost = best[i] + _cue_cost(span, options, language)
            if cost < best[j]:
                best[j], back[j] = cost, i
    spans = []
    j = n
    while j > 0:
        spans.append((back[j], j))
        j = back[j]
    return spans[::-1]


# --- timing ----------------------------------------------------------------------------------------


def _timed(spans: list[tuple[int, int]], slots: list[_Slot], options: CueOptions, language: str) -> list[Cue]:
    cues: list[Cue] = []
    for k, (i, j) in enumerate(spans):
        words = [s.word for s in slots[i:j]]
        lines = break_lines(words, options.max_chars, options.max_lines, language)
        start = round(words[0].start, 3)
        next_start = round(slots[j].word.start, 3) if k + 1 < len(spans) else None
        end = _out_time(start, words[-1].end, reading_chars(lines), len(words), next_start, options)
        cues.append(Cue(start, end, lines))
    return cues


def _out_time(
    start: float, last_end: float, chars: int, n_words: int, next_start: float | None, options: CueOptions
) -> float:
    """When a cue leaves the screen: reading speed, minimum duration, closed gaps, the two-frame gap."""
    need = _reading_seconds(chars, n_words, options)
    end = max(last_end, min(start + need, last_end + options.max_extend), start + options.min_duration)
    end = min(end, start + options.max_duration)
    if next_start is not None:
        latest = next_start - options.gap
        if next_start - end <= options.close_gap:
            end = latest
        end = min(max(end, start + MIN_CUE_SECONDS), latest, start + options.max_duration)
    return round(max(end, start + 0.001), 3)


READABLE_SHIFT = 1.0
"""How far (seconds) a cue too fast to read may stay after its last word, or push a cue that follows it in
continuous speech past that cue's first word, to get the time its text needs."""


MIN_DURATION_PUSH = 0.3
"""How far (seconds) a cue under the minimum duration may delay the cue after it when a pause lies between."""


def _readable(cues: list[Cue], spans: list[tuple[int, int]], slots: list[_Slot], options: CueOptions) -> list[Cue]:
    """Cues too fast to read (or under the minimum duration) take the time they need from what follows.

    Speech faster than the reading speed leaves no split readable on the words' own times: the deficit can only
    be made up after the speech, so a cue may stay up to ``READABLE_SHIFT`` after its last word and, where the
    next cue continues the speech (no breath between), delay that cue's start by as much; the next cue then
    does the same in turn. A cue that starts after a pause is delayed only for a cue before it that is short of
    the minimum duration alone (by up to ``MIN_DURATION_PUSH``).
    """
    out = list(cues)
    for k, (i, j) in enumerate(spans):
        cue, last = out[k], slots[j - 1].word.end
        need = _reading_seconds(reading_chars(cue.lines), j - i, options)
        if cue.end - cue.start >= need - 5e-4:
            continue
        end = min(cue.start + need, cue.start + options.max_duration, max(cue.end, last + READABLE_SHIFT))
        if k + 1 < len(out):
            nxt, following = out[k + 1], slots[j].word.start
            if following - last <= BREATH_SECONDS:
                latest = following + READABLE_SHIFT
            elif need <= options.min_duration + 5e-4:
                # Only the minimum duration is short: a cue after a pause may wait that little longer.
                latest = min(cue.start + need + options.gap, nxt.start + MIN_DURATION_PUSH)
            else:
                latest = nxt.start
            end = min(end, max(latest, nxt.start) - options.gap)
            if end <= cue.end:
                continue
            start = max(nxt.start, round(end + options.gap, 3))
            if nxt.start - options.gap - end <= options.close_gap:
                end = start - options.gap  # a short gap left open is closed, as everywhere
            out[k + 1] = Cue(start, max(nxt.end, start + MIN_CUE_SECONDS), nxt.lines)
        out[k] = Cue(cue.start, round(max(end, cue.end), 3), cue.lines)
    return out


def _no_overlap(cues: list[Cue]) -> list[Cue]:
    fixed: list[Cue] = []
    for cue in cues:
        if fixed and fixed[-1].end > cue.start:
            prev = fixed[-1]
            fixed[-1] = Cue(prev.start, max(prev.start + 0.001, cue.start), prev.lines)
        fixed.append(cue)
    return fixed


def transcript_to_cues(transcript: Transcript, options: CueOptions) -> list[Cue]:
    """Readable cues for the transcript under ``options`` (adapted to the transcript's language)."""
    options = options.for_language(transcript.language)
    language = "cjk" if transcript.language in _CJK else transcript.language
    slots = _slots(transcript, options.max_pause, language)
    if not slots:
        return []
    spans = _segment(slots, options, language)
    return _no_overlap(_readable(_timed(spans, slots, options, language), spans, slots, options))
