"""Live progress between the worker thread and the event loop: the worker reports, request handlers wait.

The worker calls ``changed`` from its own thread; the hub wakes the coroutines waiting on that job in the
event loop (``call_soon_threadsafe``). Progress in audio seconds is kept here, in memory, as it moves; the
store keeps what must survive (states, items, stages).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Progress:
    """How far a running job is: audio seconds of finished items plus the current one's, and items."""

    items_done: int = 0
    items_total: int | None = None
    finished_seconds: float = 0.0
    current_done: float = 0.0
    current_total: float = 0.0
    stage: str = "starting"

    @property
    def seconds_done(self) -> float:
        """Audio seconds decoded so far in this run."""
        return self.finished_seconds + self.current_done

    @property
    def seconds_known(self) -> float:
        """Audio seconds of the items seen so far (later items' lengths are not known yet)."""
        return self.finished_seconds + self.current_total


class Hub:
    """Per-job progress and change notification, safe to call from any thread."""

    MIN_INTERVAL = 0.2
    """Seconds between two audio-progress notifications of one job (state changes are never held back)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: dict[str, asyncio.Event] = {}
        self._progress: dict[str, Progress] = {}
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver notifications into ``loop`` (the server's event loop)."""
        self._loop = loop

    def progress(self, job_id: str) -> Progress | None:
        """The live progress of a running job, or None."""
        with self._lock:
            return self._progress.get(job_id)

    def update(self, job_id: str, *, throttle: bool = False, **changes: object) -> None:
        """Change a job's live progress and tell its waiters (at most every ``MIN_INTERVAL`` when ``throttle``)."""
        with self._lock:
            self._progress[job_id] = replace(self._progress.get(job_id, Progress()), **changes)  # type: ignore[arg-type]
            now = time.monotonic()
            if throttle and now - self._last.get(job_id, 0.0) < self.MIN_INTERVAL:
                return
            self._last[job_id] = now
        self.changed(job_id)

    def forget(self, job_id: str) -> None:
        """Drop a job's live progress (its run ended) and tell its waiters."""
        with self._lock:
            self._progress.pop(job_id, None)
            self._last.pop(job_id, None)
        self.changed(job_id)

    def changed(self, job_id: str) -> None:
        """Wake every coroutine waiting on ``job_id`` (callable from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake, job_id)

    def _wake(self, job_id: str) -> None:
        event = self._events.pop(job_id, None)
        if event is not None:
            event.set()

    def listen(self, job_id: str) -> asyncio.Event:
        """An event set at ``job_id``'s next change: take it *before* reading the job, then ``wait`` on it, and no
        change in between is missed (call in the event loop)."""
        return self._events.setdefault(job_id, asyncio.Event())

    def release(self, job_id: str) -> None:
        """Drop ``job_id``'s event once the job is final (no change will come), waking anyone still holding it."""
        event = self._events.pop(job_id, None)
        if event is not None:
            event.set()

    @staticmethod
    async def wait(event: asyncio.Event, timeout: float | None = None) -> bool:
        """Wait for an event from ``listen``; False when ``timeout`` seconds passed first."""
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True
