"""Cue timing of a hypothesis against a reference.

Timing metrics, computed when both files carry timings (srt, vtt or subgen json):

- Each hypothesis cue belongs to the reference cue it overlaps longest (touching does not count; ties go to
  the earlier one), so a cue that lingers a moment into the next utterance still counts for its own. A
  reference cue's start error is the earliest start of its hypothesis cues minus the reference start, its end
  error the latest end minus the reference end. A reference cue that no hypothesis cue belongs to is missed.
- Reported: the median and 90th percentile (linear interpolation between ranks, numpy's default) of the
  absolute start and end errors, and the matched and missed reference cue counts.
- Cues in gaps: hypothesis cues lying entirely inside a stretch longer than ``GAP_SECONDS`` that no reference
  cue covers: between reference cues, before the first (from 0 s) and after the last (up to the end of the
  last hypothesis cue, as the media length is unknown). These are text where the reference has none.
- Corpus totals pool the errors of all files before taking the median and percentile.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from subgen.core.types import Cue

GAP_SECONDS = 5.0


@dataclass(frozen=True)
class TimingErrors:
    """Cue timing of a hypothesis against a reference; errors in seconds, hypothesis minus reference."""

    start_errors: tuple[float, ...]
    end_errors: tuple[float, ...]
    missed: int
    cues_in_gaps: int
    hypothesis_cues: int

    @property
    def matched(self) -> int:
        """Reference cues that some hypothesis cue overlaps."""
        return len(self.start_errors)

    @property
    def reference_cues(self) -> int:
        """Non-empty reference cues, matched or missed."""
        return self.matched + self.missed

    def start_error(self, quantile: float) -> float | None:
        """The given quantile of the absolute start errors (None when no cue matched)."""
        return percentile([abs(e) for e in self.start_errors], quantile)

    def end_error(self, quantile: float) -> float | None:
        """The given quantile of the absolute end errors (None when no cue matched)."""
        return percentile([abs(e) for e in self.end_errors], quantile)

    def to_dict(self) -> dict:
        """JSON-ready form (seconds rounded to milliseconds), as ``subgen eval --json`` prints it."""
        return {
            "reference_cues": self.reference_cues,
            "matched": self.matched,
            "missed": self.missed,
            "start_error_median": _rounded(self.start_error(0.5)),
            "start_error_p90": _rounded(self.start_error(0.9)),
            "end_error_median": _rounded(self.end_error(0.5)),
            "end_error_p90": _rounded(self.end_error(0.9)),
            "hypothesis_cues": self.hypothesis_cues,
            "cues_in_gaps": self.cues_in_gaps,
        }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def percentile(values: Sequence[float], quantile: float) -> float | None:
    """The ``quantile`` (0..1) of ``values`` by linear interpolation between ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = quantile * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _spoken(cues: Sequence[Cue]) -> list[Cue]:
    return sorted((c for c in cues if c.text.strip()), key=lambda c: (c.start, c.end))


def timing_errors(reference: Sequence[Cue], hypothesis: Sequence[Cue]) -> TimingErrors:
    """Start/end errors of each reference cue, missed cues and hypothesis cues in long reference gaps."""
    refs, hyps = _spoken(reference), _spoken(hypothesis)
    owned: dict[int, list[Cue]] = {}
    starts = [r.start for r in refs]
    longest = max((r.end - r.start for r in refs), default=0.0)
    for hyp in hyps:
        owner = _owner(refs, starts, longest, hyp)
        if owner is not None:
            owned.setdefault(owner, []).append(hyp)
    start_errors, end_errors = [], []
    for index, ref in enumerate(refs):
        if index in owned:
            start_errors.append(min(h.start for h in owned[index]) - ref.start)
            end_errors.append(max(h.end for h in owned[index]) - ref.end)
    return TimingErrors(
        start_errors=tuple(start_errors),
        end_errors=tuple(end_errors),
        missed=len(refs) - len(start_errors),
        cues_in_gaps=cues_in_gaps(refs, hyps),
        hypothesis_cues=len(hyps),
    )


def _owner(refs: Sequence[Cue], starts: list[float], longest: float, hyp: Cue) -> int | None:
    """Index of the reference cue (sorted by ``starts``) that ``hyp`` overlaps longest, or None."""
    best, best_overlap = None, 0.0
    # Only cues starting within `longest` before the hypothesis, and before its end, can overlap it.
    for index in range(bisect.bisect_left(starts, hyp.start - longest), bisect.bisect_left(starts, hyp.end)):
        overlap = min(hyp.end, refs[index].end) - max(hyp.start, refs[index].start)
        if overlap > best_overlap:
            best, best_overlap = index, overlap
    return best


def reference_gaps(reference: Sequence[Cue], until: float) -> list[tuple[float, float]]:
    """Stretches from 0 s to ``until`` that no reference cue covers, as (start, end) pairs."""
    gaps, covered = [], 0.0
    for ref in sorted(reference, key=lambda c: c.start):
        if ref.start > covered:
            gaps.append((covered, ref.start))
        covered = max(covered, ref.end)
    if until > covered:
        gaps.append((covered, until))
    return gaps


def cues_in_gaps(
    reference: Sequence[Cue], hypothesis: Sequence[Cue], longer_than: float = GAP_SECONDS
) -> int:
    """Hypothesis cues lying entirely inside a reference gap longer than ``longer_than`` seconds."""
    until = max((h.end for h in hypothesis), default=0.0)
    # Lengths compare in whole milliseconds, the resolution of srt and vtt times.
    gaps = [(a, b) for a, b in reference_gaps(reference, until) if round((b - a) * 1000) > round(longer_than * 1000)]
    return sum(1 for h in hypothesis if any(a <= h.start and h.end <= b for a, b in gaps))


def pool_timing(timings: Sequence[TimingErrors]) -> TimingErrors | None:
    """All files' timing errors pooled into one, so totals are medians over every cue; None when there are none."""
    if not timings:
        return None
    return TimingErrors(
        start_errors=tuple(e for t in timings for e in t.start_errors),
        end_errors=tuple(e for t in timings for e in t.end_errors),
        missed=sum(t.missed for t in timings),
        cues_in_gaps=sum(t.cues_in_gaps for t in timings),
        hypothesis_cues=sum(t.hypothesis_cues for t in timings),
    )
