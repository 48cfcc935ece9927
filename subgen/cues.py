"""Turn a Transcript into subtitle cues: cue boundaries and line breaks are decided here only."""

from __future__ import annotations

from dataclasses import dataclass

from subgen.config import CueOptions
from subgen.engines.base import Segment, Transcript, Word

MIN_CUE_SECONDS = 0.2


@dataclass(frozen=True)
class Cue:
    """One subtitle on screen: a time span and its lines."""

    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The lines joined with newlines."""
        return "\n".join(self.lines)


def _join(words: list[Word]) -> str:
    return "".join(w.text for w in words).strip()


def wrap(words: list[Word], max_chars: int, max_lines: int) -> tuple[str, ...] | None:
    """The most balanced split of ``words`` into at most ``max_lines`` lines, or None if none fits."""
    text = _join(words)
    if len(text) <= max_chars or len(words) == 1:
        return (text,)
    if max_lines == 1:
        return None
    best: tuple[str, ...] | None = None
    best_width = None
    for cut in range(1, len(words)):
        head = _join(words[:cut])
        if len(head) > max_chars:
            break
        rest = wrap(words[cut:], max_chars, max_lines - 1)
        if rest is None:
            continue
        width = max(len(head), *(len(line) for line in rest))
        if best_width is None or width < best_width:
            best, best_width = (head, *rest), width
    return best


def _words_of(segment: Segment) -> list[Word]:
    if segment.words:
        return [w for w in segment.words if w.text.strip()]
    # No word timings: spread the segment's words evenly over its span.
    tokens = segment.text.split()
    if not tokens:
        return []
    step = (segment.end - segment.start) / len(tokens)
    return [Word(" " + t, segment.start + i * step, segment.start + (i + 1) * step) for i, t in enumerate(tokens)]


def _chunk(words: list[Word], options: CueOptions) -> list[list[Word]]:
    chunks: list[list[Word]] = []
    current: list[Word] = []
    for word in words:
        if current and wrap([*current, word], options.max_chars, options.max_lines) is None:
            chunks.append(current)
            current = []
        current.append(word)
    if current:
        chunks.append(current)
    return chunks


def _cue(words: list[Word], options: CueOptions) -> Cue:
    lines = wrap(words, options.max_chars, options.max_lines) or (_join(words),)
    start, end = words[0].start, words[-1].end
    return Cue(start=start, end=max(end, start + MIN_CUE_SECONDS), lines=lines)


def _no_overlap(cues: list[Cue]) -> list[Cue]:
    fixed: list[Cue] = []
    for cue in cues:
        if fixed and fixed[-1].end > cue.start:
            prev = fixed[-1]
            fixed[-1] = Cue(prev.start, max(prev.start + 0.01, cue.start), prev.lines)
        fixed.append(cue)
    return fixed


def transcript_to_cues(transcript: Transcript, options: CueOptions) -> list[Cue]:
    """Cues that follow the segments, split so that none exceeds the line limits."""
    cues = [_cue(chunk, options) for segment in transcript.segments for chunk in _chunk(_words_of(segment), options)]
    return _no_overlap(cues)
