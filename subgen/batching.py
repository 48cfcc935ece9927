"""Cross-file batching: the speech windows of every queued clip share full decoder batches, in input order."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from subgen.config import TranscribeOptions
from subgen.engines.base import Engine, Segment
from subgen.errors import SubgenError
from subgen.media import AudioClip
from subgen.speech import WINDOW_SECONDS, Window, plan_windows, undecoded
from subgen.vad import SpeechRegion

log = logging.getLogger(__name__)

FOLLOW_UP_ROUNDS = 2
"""How often the undecoded rest of a window is decoded again (each round only sees what is still left)."""


@dataclass(eq=False)
class DecodeJob:
    """One clip's windows decoded with one set of options; collects its segments on the clip's timeline."""

    clip: AudioClip
    options: TranscribeOptions
    language: str
    spans: tuple[SpeechRegion, ...]
    on_progress: Callable[[DecodeJob], None] = lambda job: None
    on_done: Callable[[DecodeJob], None] = lambda job: None
    segments: list[Segment] = field(default_factory=list)
    pending: int = 0
    decoded_until: float = 0.0
    error: SubgenError | None = None

    @property
    def key(self) -> tuple[TranscribeOptions, str]:
        """Windows can share a batch only when they are decoded with the same options and language."""
        return self.options, self.language

    def sorted_segments(self) -> tuple[Segment, ...]:
        """The segments in timeline order (follow-up windows finish after the windows behind them)."""
        return tuple(sorted(self.segments, key=lambda s: (s.start, s.end)))


@dataclass(frozen=True)
class _Part:
    """One clip's window inside a decoder input, starting ``offset`` seconds into it."""

    job: DecodeJob
    window: Window
    offset: float = 0.0


@dataclass(frozen=True)
class _Entry:
    """One decoder input: a window of one clip, or the single windows of several short clips packed together."""

    parts: tuple[_Part, ...]
    round: int = 0

    @property
    def key(self) -> tuple[TranscribeOptions, str]:
        return self.parts[0].job.key

    @property
    def duration(self) -> float:
        last = self.parts[-1]
        return last.offset + last.window.duration

    def samples(self) -> np.ndarray:
        """The decoder input: each part's audio at its offset, silence between."""
        rate = self.parts[0].job.clip.sample_rate
        out = np.zeros(round(self.duration * rate), dtype=np.float32)
        for part in self.parts:
            audio = part.window.samples(part.job.clip)
            at = round(part.offset * rate)
            out[at : at + len(audio)] = audio[: len(out) - at]
        return out

    def packed_with(self, job: DecodeJob, window: Window) -> _Entry | None:
        """This entry with ``job``'s only window appended, if both are short single-window clips that fit."""
        offset = self.duration + CLIP_GAP
        fits = offset + window.duration <= WINDOW_SECONDS
        if self.round or not fits or job.key != self.key or any(p.job.pending != 1 for p in self.parts):
            return None
        return _Entry((*self.parts, _Part(job, window, offset)), self.round)

    def split(self, segments: tuple[Segment, ...]) -> list[tuple[_Part, tuple[Segment, ...]]]:
        """Each part's share of the decoded ``segments``, with times from the start of the part's window."""
        if len(self.parts) == 1:
            return [(self.parts[0], segments)]
        return [(part, _share(segments, part.offset, part.offset + part.window.duration)) for part in self.parts]


CLIP_GAP = 0.6
"""Seconds of silence between short clips packed into one decoder input (longer than a join inside a clip)."""


def _share(segments: tuple[Segment, ...], start: float, end: float) -> tuple[Segment, ...]:
    """The words of ``segments`` whose middle lies in [start, end), regrouped by segment and shifted by -start."""
    out = []
    for segment in segments:
        words = tuple(
            replace(w, start=max(w.start, start) - start, end=min(w.end, end) - start)
            for w in segment.words
            if start <= (w.start + w.end) / 2 < end
        )
        if words:
            text = "".join(w.text for w in words)
            out.append(replace(segment, start=words[0].start, end=words[-1].end, text=text, words=words))
        elif not segment.words and start <= (segment.start + segment.end) / 2 < end:
            out.append(replace(segment, start=max(segment.start, start) - start, end=min(segment.end, end) - start))
    return tuple(out)


@dataclass
class WindowBatcher:
    """Queues windows from many clips and decodes them in batches of the engine's size.

    Batches are cut from the queue in order, so the same inputs always form the same batches. Clips short
    enough for one window share a decoder input with their neighbours (one encoder pass for several files).
    A window that Whisper stopped early comes back to the front of the queue as a follow-up of its rest.
    """

    engine: Callable[[], Engine]
    pack: bool = True
    queue: deque[_Entry] = field(default_factory=deque)

    def add(self, job: DecodeJob, windows: tuple[Window, ...]) -> None:
        """Queue ``job``'s windows; a job without windows is done at once."""
        if not windows:
            job.on_done(job)
            return
        job.pending += len(windows)
        if self.pack and len(windows) == 1 and self.queue:
            packed = self.queue[-1].packed_with(job, windows[0])
            if packed is not None:
                self.queue[-1] = packed
                return
        self.queue.extend(_Entry((_Part(job, w),)) for w in windows)

    def pump(self, *, flush: bool = False) -> None:
        """Decode full batches while there are enough windows queued (everything when ``flush``).

        The last queued input may still take in the next short clip, so it waits unless flushing.
        """
        while self.queue:
            try:
                size = self.engine().batch_size
            except SubgenError as exc:
                self._fail_all(exc)
                return
            if not flush and len(self.queue) <= size:
                return
            self._decode(self._take(size))

    def _take(self, size: int) -> list[_Entry]:
        """The first ``size`` queued inputs that share the first one's decode options."""
        key = self.queue[0].key
        taken: list[_Entry] = []
        kept: deque[_Entry] = deque()
        while self.queue and len(taken) < size:
            entry = self.queue.popleft()
            (taken if entry.key == key else kept).append(entry)
        self.queue.extendleft(reversed(kept))
        return taken

    def _decode(self, entries: list[_Entry]) -> None:
        options, language = entries[0].key
        try:
            engine = self.engine()
            results = engine.decode_windows([e.samples() for e in entries], options, language)
        except SubgenError as exc:
            for entry in entries:
                for part in entry.parts:
                    self._finish(part, (), exc)
            return
        shares = [
            (entry, part, segs)
            for entry, result in zip(entries, results, strict=True)
            for part, segs in entry.split(result)
        ]
        # What Whisper left undecoded goes back to the front of the queue; the rests of one job's windows are
        # packed together, so a few seconds left in each of several windows cost one encoder pass, not several.
        rests: dict[tuple[DecodeJob, int], list[SpeechRegion]] = {}
        reached = {id(e): max((s.end for s in r), default=0.0) for e, r in zip(entries, results, strict=True)}
        for entry, part, segments in shares:
            if entry.round < FOLLOW_UP_ROUNDS:
                # A packed clip without words: silence if the decoder went past it, a stop if it never got there.
                got = reached[id(entry)] - part.offset if len(entry.parts) > 1 else None
                regions = undecoded(part.window, segments, part.job.spans, got)
                if regions:
                    rests.setdefault((part.job, entry.round + 1), []).extend(regions)
        follow_ups = [
            _Entry((_Part(job, window),), round_)
            for (job, round_), regions in rests.items()
            for window in plan_windows(tuple(sorted(regions, key=lambda r: r.start)), job.spans)
        ]
        for entry in follow_ups:
            job = entry.parts[0].job
            log.debug("%s: decoding again from %.1f s", job.clip.source, entry.parts[0].window.source_start)
            job.pending += 1
        for _, part, segments in shares:
            self._finish(part, segments, None)
        self.queue.extendleft(reversed(follow_ups))

    def _finish(self, part: _Part, segments: tuple[Segment, ...], error: SubgenError | None) -> None:
        job = part.job
        job.pending -= 1
        if error is not None and job.error is None:
            job.error = error
        job.segments.extend(part.window.to_source(segments))
        job.decoded_until = max(job.decoded_until, part.window.source_end)
        job.on_progress(job)
        if job.pending == 0:
            job.on_done(job)

    def _fail_all(self, error: SubgenError) -> None:
        while self.queue:
            for part in self.queue.popleft().parts:
                self._finish(part, (), error)
