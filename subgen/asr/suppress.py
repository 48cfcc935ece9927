"""Remove Whisper hallucinations from a Transcript: text without speech under it, loops, symbol-only cues.

Pure functions; what is removed is logged at debug level. Measured with tiny.en and VAD off: 60 s of
digital silence gives `` you`` twice (no_speech_prob 0.95, avg_logprob -0.70, word probability 0.39, so
Whisper's own no-speech rule keeps it); faint white or pink noise gives runs of `` .`` and empty segments;
a steady or frequency-modulated tone gives empty 30 s segments; in the long-form test file, pink noise
next to speech gives `` Music`` (word probability 0.001-0.02).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from subgen.core.types import Segment, SpeechRegion, Transcript, Word

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SuppressOptions:
    """Thresholds; the no-speech pair is Whisper's own (no_speech_prob > 0.6 and avg_logprob < -1.0)."""

    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    min_speech_overlap: float = 0.5
    max_repeats: int = 3
    max_loop_words: int = 16
    stock_no_speech: float = 0.5
    stock_logprob: float = -0.7
    stock_word_probability: float = 0.5
    double_min_words: int = 2
    double_max_words: int = 60
    double_squeeze: float = 0.35
    double_overlap: float = 0.2
    double_max_gap: int = 2


# Phrases Whisper emits over silence and music (it learned them from subtitle credits and video endings).
STOCK_PHRASES = frozenset(
    {
        "you",
        "thank you",
        "thank you so much",
        "thank you very much",
        "thanks",
        "thanks for watching",
        "thank you for watching",
        "thanks for listening",
        "thank you for listening",
        "please subscribe",
        "like and subscribe",
        "bye",
        "bye bye",
        "so",
        "the end",
        "okay",
        # Sound labels tiny.en writes without brackets (measured: "Music" over pink noise, word probability 0.02).
        "music",
        "applause",
        "laughter",
        "silence",
        "noise",
    }
)
_CREDITS = re.compile(
    r"\b(subtitles?|subtitled|captions?|captioning|transcription|transcribed|translated|translation)\b.*\bby\b"
    r"|amara\.org|castingwords|\bwww\.|\.com\b",
    re.IGNORECASE,
)
_ANNOTATION = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*")
_WORDLIKE = re.compile(r"\w")


def _key(text: str) -> str:
    """Lowercase words only: what two tokens must share to count as the same."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def _overlap(start: float, end: float, regions: Sequence[SpeechRegion]) -> float:
    """The fraction of [start, end] inside ``regions`` (a zero-length span: 1 if inside, else 0)."""
    if end <= start:
        return float(any(r.start <= start <= r.end for r in regions))
    inside = sum(max(0.0, min(end, r.end) - max(start, r.start)) for r in regions)
    return inside / (end - start)


def _rebuilt(segment: Segment, words: list[Word]) -> Segment:
    """``segment`` reduced to ``words`` (text and span follow the words that are left)."""
    if len(words) == len(segment.words):
        return segment
    text = "".join(w.text for w in words)
    return replace(segment, start=words[0].start, end=words[-1].end, text=text, words=tuple(words))


def _removed(what: str, segment: Segment, reason: str) -> None:
    log.debug("suppressed %r at %.2f-%.2f s: %s", what.strip(), segment.start, segment.end, reason)


def is_unlikely_speech(segment: Segment, options: SuppressOptions) -> bool:
    """Whisper's no-speech rule: a high no-speech probability and a low average log-probability."""
    return segment.no_speech_prob > options.no_speech_threshold and segment.avg_logprob < options.logprob_threshold


def is_symbols_only(text: str) -> bool:
    """True for text without a letter or digit once [annotations] and (sound descriptions) are removed."""
    return not _WORDLIKE.search(_ANNOTATION.sub(" ", text).replace("_", " "))


def is_stock_phrase(text: str) -> bool:
    """True for the sign-offs and subtitle credits Whisper invents where nobody speaks."""
    return _key(text) in STOCK_PHRASES or bool(_CREDITS.search(text))


def is_low_confidence(segment: Segment, options: SuppressOptions) -> bool:
    """Doubtful enough that a stock phrase is taken for a hallucination."""
    probs = [w.probability for w in segment.words]
    mean_prob = sum(probs) / len(probs) if probs else 1.0
    return (
        segment.no_speech_prob > options.stock_no_speech
        or segment.avg_logprob < options.stock_logprob
        or mean_prob < options.stock_word_probability
    )


def keep_speech_words(segment: Segment, regions: Sequence[SpeechRegion], options: SuppressOptions) -> Segment | None:
    """``segment`` without the words that lie mostly outside ``regions``; None when nothing is left."""
    if not segment.words:
        return segment if _overlap(segment.start, segment.end, regions) >= options.min_speech_overlap else None
    inside = [_overlap(w.start, w.end, regions) >= options.min_speech_overlap for w in segment.words]
    for word, ok in zip(segment.words, inside, strict=True):
        if not ok:
            _removed(word.text, segment, "no speech under the word")
    kept = [w for w, ok in zip(segment.words, inside, strict=True) if ok]
    return _rebuilt(segment, kept) if kept else None


def _loop_length(keys: list[str], i: int, n: int) -> int:
    """How many times ``keys[i:i+n]`` repeats back to back from ``i``."""
    unit, count = keys[i : i + n], 1
    while keys[i + count * n : i + (count + 1) * n] == unit:
        count += 1
    return count


def _copies_kept(places: Sequence[int | None], i: int, n: int, count: int, limit: int) -> list[int]:
    """Which copies of a loop of ``count`` units of ``n`` tokens from ``i`` stand on voice of their own.

    ``places`` says which voice span holds each token (None: none). A copy is kept when its tokens stand on
    spans no kept token outside it stands on (seen: "five five" said as two spans came back as "5 5 5 5", or as
    six "Five."s, the first misplaced on the sentence before); at most ``limit`` copies, and always one.
    """
    end = i + count * n
    taken = {p for k, p in enumerate(places) if (k < i or k >= end) and p is not None}
    kept: list[int] = []
    for c in range(count):
        own = {p for p in places[i + c * n : i + (c + 1) * n] if p is not None}
        if own and not own & taken and len(kept) < limit:
            kept.append(c)
            taken |= own
    return kept or [0]


def loop_mask(keys: list[str], options: SuppressOptions, places: Sequence[int | None] | None = None) -> list[bool]:
    """Which tokens to keep: a unit of up to ``max_loop_words`` repeated over ``max_repeats`` times is kept once,
    or, when ``places`` tells the voice span of each token, once per span of its own (see ``_copies_kept``)."""
    keep = [True] * len(keys)
    i = 0
    while i < len(keys):
        for n in range(1, options.max_loop_words + 1):
            if i + n > len(keys) or not all(keys[i : i + n]):
                break
            count = _loop_length(keys, i, n)
            if count > options.max_repeats:
                copies = _copies_kept(places, i, n, count, options.max_repeats) if places is not None else [0]
                keep[i : i + count * n] = [k // n in copies for k in range(count * n)]
                i += count * n - 1
                break
        i += 1
    return keep


def _place(start: float, end: float, spans: Sequence[SpeechRegion]) -> int | None:
    """The index of the voice span holding the middle of [start, end], if any."""
    middle = (start + end) / 2
    return next((k for k, s in enumerate(spans) if s.start <= middle <= s.end), None)


def collapse_loops(
    segments: Sequence[Segment], options: SuppressOptions, spans: Sequence[SpeechRegion] | None = None
) -> list[Segment]:
    """Repetition loops (within or across segments) cut to their first occurrence, or with VAD's voice ``spans``
    to one copy per span of its own."""
    tokens: list[tuple[int, Word | None]] = [(s, w) for s, seg in enumerate(segments) for w in (seg.words or (None,))]
    keys = [_key(w.text if w is not None else segments[s].text) for s, w in tokens]
    places = None
    if spans is not None:
        places = [_place(*((w.start, w.end) if w else (segments[s].start, segments[s].end)), spans) for s, w in tokens]
    keep = loop_mask(keys, options, places)
    if all(keep):
        return list(segments)
    out = []
    for s, seg in enumerate(segments):
        kept = [w for (i, w), k in zip(tokens, keep, strict=True) if i == s and k]
        if not seg.words:
            out.extend([seg] if kept else [])
        elif kept:
            out.append(_rebuilt(seg, [w for w in kept if w is not None]))
        if len(kept) < len(seg.words or (None,)):
            _removed(seg.text, seg, "repetition loop")
    return out


def _doubled_copy(words: Sequence[Word], keys: list[str], i: int, options: SuppressOptions) -> list[int]:
    """Indices of the words to drop when a run from ``i`` is written again right after it and cannot be speech.

    Real speech said twice takes about as long the second time, word for word, and comes after the first. A copy
    Whisper wrote from the same audio twice (a window and its follow-up) starts before the first one ends: the
    copy goes. One it made up squeezes, at every place in the run, one of the two words into next to no time
    (seen: 16 words in 0.5 s at a window's end; 7 words, five of them in 0.16 s, where a sentence's last words
    came after a VAD cut and the first copy's last words had no time either). Then the words that have the time
    are kept: the first copy up to a cut, the second from there (the cut that keeps the most word time). Up to
    ``double_max_gap`` words may stand between the copies (seen: "... sold 50 bonds. bonds. The girl at the booth
    sold 50", the copy in no time at a window's end); then only a whole copy goes.
    """
    for gap in range(options.double_max_gap + 1):
        for n in range(options.double_min_words, min(options.double_max_words, (len(words) - i - gap) // 2) + 1):
            at = i + n + gap  # where the copy starts
            if not all(keys[i : i + n]) or keys[i : i + n] != keys[at : at + n]:
                continue
            first, copy = words[i : i + n], words[at : at + n]
            if copy[0].start < first[-1].end - options.double_overlap:
                return list(range(at, at + n))
            lasts = [(a.end - a.start, b.end - b.start) for a, b in zip(first, copy, strict=True)]
            if sum(min(pair) for pair in lasts) >= options.double_squeeze * sum(max(pair) for pair in lasts):
                return []
            kept = [sum(a for a, _ in lasts[:c]) + sum(b for _, b in lasts[c:]) for c in range(n + 1)]
            cut = max(range(n + 1), key=lambda c: (kept[c], c))
            if gap and cut < n:
                return []  # with words between the copies, only a whole copy can go
            return [*range(i + cut, i + n), *range(at, at + cut)]
    return []


def drop_doubled(segments: Sequence[Segment], options: SuppressOptions) -> list[Segment]:
    """A run of words written twice in a row whose second copy cannot be speech (see ``_doubled_copy``) kept once."""
    words = [w for seg in segments for w in seg.words]
    keys = [_key(w.text) for w in words]
    dropped: set[int] = set()
    i = 0
    while i < len(words):
        drop = _doubled_copy(words, keys, i, options)
        dropped.update(id(words[k]) for k in drop)
        i += len(drop) * 2 if drop else 1
    if not dropped:
        return list(segments)
    out = []
    for seg in segments:
        kept = [w for w in seg.words if id(w) not in dropped]
        if len(kept) < len(seg.words):
            _removed(seg.text, seg, "the same words written twice")
        if kept or not seg.words:
            out.append(_rebuilt(seg, kept) if kept else seg)
    return out


def _keep_segment(segment: Segment, regions: Sequence[SpeechRegion] | None, options: SuppressOptions) -> bool:
    if is_symbols_only(segment.text):
        reason = "no words, only punctuation, symbols or annotations"
    elif is_unlikely_speech(segment, options):
        reason = f"no_speech_prob {segment.no_speech_prob:.2f}, avg_logprob {segment.avg_logprob:.2f}"
    elif is_stock_phrase(segment.text) and is_low_confidence(segment, options):
        reason = "stock phrase with low confidence"
    elif (
        is_stock_phrase(segment.text)
        and regions is not None
        and _overlap(segment.start, segment.end, regions) < options.min_speech_overlap
    ):
        reason = "stock phrase outside speech"
    else:
        return True
    _removed(segment.text, segment, reason)
    return False


def suppress(
    transcript: Transcript,
    regions: Sequence[SpeechRegion] | None = None,
    options: SuppressOptions | None = None,
    spans: Sequence[SpeechRegion] | None = None,
) -> Transcript:
    """``transcript`` without hallucinations; ``regions`` (from VAD, when it ran) mark where speech is, ``spans``
    its stretches of voice (a loop keeps a copy on each span of its own)."""
    options = options or SuppressOptions()
    segments: list[Segment] = list(transcript.segments)
    if regions is not None:
        segments = [s for s in (keep_speech_words(seg, regions, options) for seg in segments) if s is not None]
    segments = [s for s in segments if _keep_segment(s, regions, options)]
    segments = collapse_loops(segments, options, spans)
    segments = drop_doubled(segments, options)
    removed = len(transcript.segments) - len(segments)
    if removed:
        log.debug("suppression removed %d of %d segments", removed, len(transcript.segments))
    return replace(transcript, segments=tuple(segments))
