"""What a viewer notices more than a misheard word: utterances lost, text written twice, words shown elsewhere.

Computed from a timed reference (one cue per utterance or sentence) and the hypothesis cues, after Whisper's
normalizers (each cue normalized on its own, so every word keeps the cue it is shown in). Lost and displaced
words compare numbers digit by digit: the normalizer reads a spoken "five five" as ``55`` but a written "5 5" as
``5 5``, and a viewer sees the same digits in both.

- **Lost utterances**: a reference cue whose words are mostly absent (fewer than ``LOST_RECALL`` of them, as a
  multiset) from the hypothesis cues shown during it, widened by ``LOST_REACH`` s either side.
- **Repeated text**: a run of ``REPEAT_WORDS``+ words, or a whole sentence of 2+ words, written twice in a row in
  the hypothesis (the second copy starting at most ``REPEAT_GAP`` words after the first ends) that the reference
  does not contain twice.
- **Displaced words**: a hypothesis word aligned (equal, after a word-level edit alignment) to a reference word
  whose cue is more than ``DISPLACED_SECONDS`` s away from the cue that shows it.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from subgen.core.types import Cue
from subgen.evaluate.rates import normalize

LOST_RECALL = 0.5
LOST_REACH = 1.0
REPEAT_WORDS = 6
REPEAT_GAP = 2
DISPLACED_SECONDS = 2.0
MAX_RUN = 120
"""Longest repeated run looked for, in words (a long paragraph written twice is caught by its first part)."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Shown:
    """One normalized word and the span of the cue that shows it (or the reference cue that holds it)."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class Continuity:
    """Lost utterances, repeated runs and displaced words of one hypothesis (details kept for reports)."""

    lost: tuple[str, ...]
    repeated: tuple[str, ...]
    displaced: tuple[str, ...]
    reference_cues: int

    def to_dict(self) -> dict:
        """JSON-ready counts and the offending text, as ``subgen eval --json`` prints it."""
        return {
            "lost_utterances": len(self.lost),
            "repeated_text": len(self.repeated),
            "displaced_words": len(self.displaced),
            "lost": list(self.lost),
            "repeated": list(self.repeated),
            "displaced": list(self.displaced),
        }


def tokens(text: str, language: str = "en") -> list[str]:
    """``text``'s normalized words, numbers split into their digits (``55`` and ``5 5`` both become ``5 5``)."""
    words = normalize(text.replace("\n", " "), language).split()
    return [part for w in words for part in (list(w) if w.isdigit() else [w])]


def shown_words(cues: Sequence[Cue], language: str = "en") -> list[Shown]:
    """Every cue's normalized words (see ``tokens``), in cue order, each with its cue's span."""
    ordered = sorted((c for c in cues if c.text.strip()), key=lambda c: (c.start, c.end))
    return [Shown(w, c.start, c.end) for c in ordered for w in tokens(c.text, language)]


def lost_utterances(
    reference: Sequence[Cue], hypothesis: Sequence[Cue], language: str = "en", reach: float = LOST_REACH
) -> list[str]:
    """Reference cues whose words are mostly missing from the hypothesis cues shown during them (± ``reach``)."""
    hyp = shown_words(hypothesis, language)
    lost = []
    for ref in (c for c in reference if c.text.strip()):
        words = Counter(tokens(ref.text, language))
        if not words:
            continue
        near = Counter(h.word for h in hyp if h.start < ref.end + reach and h.end > ref.start - reach)
        if sum((words & near).values()) < LOST_RECALL * sum(words.values()):
            lost.append(ref.text.replace("\n", " "))
    return lost


def _doubled_run(words: list[str], i: int, min_words: int, gap: int) -> tuple[int, int] | None:
    """The longest run of ``min_words``+ words from ``i`` copied again within ``gap`` words: (length, gap)."""
    best = None
    for j in range(i + min_words, min(len(words), i + MAX_RUN + gap + 1)):
        if words[j] != words[i]:
            continue
        n = 0
        while n < j - i and j + n < len(words) and words[i + n] == words[j + n]:
            n += 1
        if n >= max(min_words, j - i - gap) and (best is None or n > best[0]):
            best = (n, j - i - n)
    return best


def _contains_twice(haystack: list[str], needle: list[str]) -> bool:
    n, hits = len(needle), 0
    for i in range(len(haystack) - n + 1):
        if haystack[i : i + n] == needle:
            hits += 1
            if hits == 2:
                return True
    return False


def _repeated_runs(hyp: list[str], ref: list[str], min_words: int, gap: int) -> list[str]:
    found, i = [], 0
    while i < len(hyp):
        run = _doubled_run(hyp, i, min_words, gap)
        if run is not None and not _contains_twice(ref, hyp[i : i + run[0]]):
            found.append(" ".join(hyp[i : i + run[0]]))
            i += 2 * run[0] + run[1]
        else:
            i += 1
    return found


def _sentences(text: str, language: str) -> list[str]:
    return [s for s in (normalize(p, language) for p in _SENTENCE_END.split(text)) if s]


def _repeated_sentences(hyp_text: str, ref_text: str, language: str) -> list[str]:
    sentences, ref = _sentences(hyp_text, language), normalize(ref_text, language).split()
    return [
        a
        for a, b in itertools.pairwise(sentences)
        if a == b and len(a.split()) >= 2 and not _contains_twice(ref, a.split())
    ]


def repeated_text(
    reference: str, hypothesis: str, language: str = "en", min_words: int = REPEAT_WORDS, gap: int = REPEAT_GAP
) -> list[str]:
    """Sentences and ``min_words``+ word runs written twice in a row in ``hypothesis`` but not in ``reference``."""
    ref, hyp = normalize(reference, language).split(), normalize(hypothesis, language).split()
    runs = _repeated_runs(hyp, ref, min_words, gap)
    sentences = [s for s in _repeated_sentences(hypothesis, reference, language) if not any(s in r for r in runs)]
    return runs + sentences


def _aligned_pairs(ref: list[Shown], hyp: list[Shown]) -> list[tuple[Shown, Shown]]:
    """(reference, hypothesis) words the word-level edit alignment calls equal."""
    import jiwer

    if not ref or not hyp:
        return []
    out = jiwer.process_words(" ".join(r.word for r in ref), " ".join(h.word for h in hyp))
    return [
        (ref[chunk.ref_start_idx + k], hyp[chunk.hyp_start_idx + k])
        for chunk in out.alignments[0]
        if chunk.type == "equal"
        for k in range(chunk.ref_end_idx - chunk.ref_start_idx)
    ]


def displaced_words(
    reference: Sequence[Cue], hypothesis: Sequence[Cue], language: str = "en", limit: float = DISPLACED_SECONDS
) -> list[str]:
    """Hypothesis words shown more than ``limit`` s before or after the reference cue of the word they match."""
    pairs = _aligned_pairs(shown_words(reference, language), shown_words(hypothesis, language))
    return [
        f"{h.word} shown {h.start:.2f}-{h.end:.2f} s, spoken {r.start:.2f}-{r.end:.2f} s"
        for r, h in pairs
        if h.end < r.start - limit or h.start > r.end + limit
    ]


def continuity(reference: Sequence[Cue], hypothesis: Sequence[Cue], language: str = "en") -> Continuity:
    """Lost utterances, repeated text and displaced words of ``hypothesis`` against a timed ``reference``."""
    ref_text = " ".join(c.text.replace("\n", " ") for c in sorted(reference, key=lambda c: c.start))
    hyp_text = " ".join(c.text.replace("\n", " ") for c in sorted(hypothesis, key=lambda c: c.start))
    return Continuity(
        lost=tuple(lost_utterances(reference, hypothesis, language)),
        repeated=tuple(repeated_text(ref_text, hyp_text, language)),
        displaced=tuple(displaced_words(reference, hypothesis, language)),
        reference_cues=sum(1 for c in reference if c.text.strip()),
    )


def pool_continuity(parts: Sequence[Continuity]) -> Continuity | None:
    """Several files' findings as one (counts add up); None when there are none."""
    if not parts:
        return None
    return Continuity(
        lost=tuple(x for p in parts for x in p.lost),
        repeated=tuple(x for p in parts for x in p.repeated),
        displaced=tuple(x for p in parts for x in p.displaced),
        reference_cues=sum(p.reference_cues for p in parts),
    )
