"""Cross-file batching: the speech windows of every queued clip share full decoder batches, in input order."""

from __future__ import annotations

import itertools
import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from subgen.asr.engines.base import Engine
from subgen.audio.media import AudioClip
from subgen.audio.speech import Piece, Window, pieces_of, plan_windows, settle_join_words, skipped, undecoded
from subgen.core.errors import SubgenError
from subgen.core.options import TranscribeOptions
from subgen.core.types import Segment, SpeechRegion

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
    segments: list[Segment] = field(default_factory=list)
    pieces: tuple[Piece, ...] = ()
    pending: int = 0
    decoded_until: float = 0.0
    error: SubgenError | None = None

    @property
    def key(self) -> tuple[TranscribeOptions, str]:
        """Windows can share a batch only when they are decoded with the same options and language."""
        return self.options, self.language

    def sorted_segments(self) -> tuple[Segment, ...]:
        """The segments in timeline order (follow-up windows finish after the windows behind them), words
        timed across a join between regions settled on their side (``settle_join_words``)."""
        ordered = tuple(sorted(self.segments, key=lambda s: (s.start, s.end)))
        return in_word_order(settle_join_words(ordered, self.pieces, self.spans))


@dataclass(frozen=True)
class _Entry:
    job: DecodeJob
    window: Window
    round: int = 0
    again: bool = False
    """A stretch the window's decode passed over, decoded alone: kept only when it adds words (see ``_adds``)."""


@dataclass
class WindowBatcher:
    """Queues windows from many clips and decodes them in batches of the engine's size.

    Batches are cut from the queue in order, so the same inputs always form the same batches. A window
    that Whisper stopped early comes back to the front of the queue as a follow-up of its rest. ``pump``
    returns the jobs whose last window came back; ``on_progress`` hears of every job a batch advanced.
    """

    engine: Callable[[], Engine]
    on_progress: Callable[[DecodeJob], None] = lambda job: None
    queue: deque[_Entry] = field(default_factory=deque)
    _done: list[DecodeJob] = field(default_factory=list)

    def add(self, job: DecodeJob, windows: tuple[Window, ...]) -> None:
        """Queue ``job``'s windows; a job without windows is returned by the next ``pump``."""
        if not windows:
            self._done.append(job)
            return
        job.pending += len(windows)
        job.pieces += pieces_of(windows)
        self.queue.extend(_Entry(job, w) for w in windows)

    def pump(self, *, flush: bool = False) -> list[DecodeJob]:
        """Decode full batches while there are enough windows queued (everything when ``flush``); the jobs
        finished meanwhile, in the order they finished."""
        while self.queue:
            try:
                engine = self.engine()
            except SubgenError as exc:
                self._fail_all(exc)
                break
            if not flush and len(self.queue) < engine.batch_size:
                break
            self._decode(self._take(engine))
        done, self._done = self._done, []
        return done

    def _take(self, engine: Engine) -> list[_Entry]:
        """The first queued windows (up to the batch size) that share the first one's options and encoder length.

        Windows the encoder hears at different lengths never share a batch: padded to the longest, a window
        would decode differently depending on its neighbours.
        """

        def key(entry: _Entry) -> tuple:
            return entry.job.key, engine.encoder_seconds(entry.window.duration)

        first = key(self.queue[0])
        taken: list[_Entry] = []
        kept: deque[_Entry] = deque()
        while self.queue and len(taken) < engine.batch_size:
            entry = self.queue.popleft()
            (taken if key(entry) == first else kept).append(entry)
        self.queue.extendleft(reversed(kept))
        return taken

    def _decode(self, entries: list[_Entry]) -> None:
        options, language = entries[0].job.key
        try:
            engine = self.engine()
            audio = [e.window.samples(e.job.clip) for e in entries]
            results = engine.decode_windows(audio, options, language)
        except SubgenError as exc:
            for entry in entries:
                self._finish(entry, (), exc)
            return
        # What Whisper left undecoded goes back to the front of the queue, each window's rest in windows of its
        # own: rests of distant windows packed together let a word misplaced across the join jump by the
        # distance between them (seen: a 1 s rest at 2:00 packed with one at 2:28 moved 28 s of cues to 2:28).
        # A region it passed over inside the window is decoded again alone.
        follow_ups = [
            _Entry(entry.job, window, entry.round + 1, again)
            for entry, segments in zip(entries, results, strict=True)
            if entry.round < FOLLOW_UP_ROUNDS
            for window, again in _follow_ups(entry, segments)
        ]
        for entry in follow_ups:
            log.debug("%s: decoding again from %.1f s", entry.job.clip.source, entry.window.source_start)
            entry.job.pending += 1
        for entry, segments in zip(entries, results, strict=True):
            self._finish(entry, segments, None)
        self.queue.extendleft(reversed(follow_ups))

    def _finish(self, entry: _Entry, segments: tuple[Segment, ...], error: SubgenError | None) -> None:
        job = entry.job
        job.pending -= 1
        if error is not None and job.error is None:
            job.error = error
        placed = entry.window.to_source(segments)
        if entry.again and not _adds(placed, job.segments):
            log.debug("%s: %r decoded again adds nothing new", job.clip.source, "".join(s.text for s in placed))
            placed = ()
        job.segments.extend(placed)
        job.decoded_until = max(job.decoded_until, entry.window.source_end)
        self.on_progress(job)
        if job.pending == 0:
            self._done.append(job)

    def _fail_all(self, error: SubgenError) -> None:
        while self.queue:
            self._finish(self.queue.popleft(), (), error)


def in_word_order(segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
    """``segments`` (in start order) cut where another segment's words fall inside them, so that their words,
    read in order, are in time order (a stretch decoded again can lie inside a segment of the first decode)."""
    words = [(w.start, n, w) for n, s in enumerate(segments) for w in s.words]
    if all(a[0] <= b[0] for a, b in itertools.pairwise(words)):
        return segments
    out: list[Segment] = [s for s in segments if not s.words]
    for n, run in itertools.groupby(sorted(words, key=lambda t: t[0]), key=lambda t: t[1]):
        part = tuple(w for _, _, w in run)
        text = "".join(w.text for w in part)
        out.append(replace(segments[n], start=part[0].start, end=max(w.end for w in part), text=text, words=part))
    return tuple(sorted(out, key=lambda s: (s.start, s.end)))


def _follow_ups(entry: _Entry, segments: tuple[Segment, ...]) -> list[tuple[Window, bool]]:
    """Windows for what ``segments`` (a decode of ``entry``'s window) left out, each marked whether it was passed
    over inside the window: each skipped stretch alone, then the rest after the last decoded word."""
    spans, limit = entry.job.spans, entry.job.options.window
    alone = [w for region in skipped(entry.window, segments, spans) for w in plan_windows((region,), spans, limit)]
    rest = plan_windows(undecoded(entry.window, segments, spans), spans, limit)
    return [(w, True) for w in alone] + [(w, False) for w in rest]


REPEAT_REACH = 2.0
"""Seconds either side of a stretch decoded again in which its words may already have been written."""


def _plain(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _adds(placed: tuple[Segment, ...], segments: list[Segment]) -> bool:
    """Whether a stretch decoded again holds a word the first decode did not write near it.

    A stretch counts as passed over when no word's middle stands on its voice; Whisper's word times can be that
    far off (a sentence's last word timed early), and then the second decode only repeats words already there.
    """
    words = [w for s in placed for w in s.words]
    if not words:
        return False
    low, high = words[0].start - REPEAT_REACH, words[-1].end + REPEAT_REACH
    around = (s for s in segments if s.end > low and s.start < high)  # a segment spans its words
    near = Counter(_plain(w.text) for s in around for w in s.words if w.end > low and w.start < high)
    return bool(Counter(_plain(w.text) for w in words) - near)
