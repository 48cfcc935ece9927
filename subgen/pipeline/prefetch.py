"""Work ahead of the consumer in a background thread: downloads and audio extraction overlap decoding."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Generic, TypeVar

STOP_WAIT = 2.0
"""Seconds leaving the ``with`` block waits for the worker to notice (it is a daemon thread after that)."""

T = TypeVar("T")
R = TypeVar("R")
_END = object()


class Prefetcher(Generic[T, R]):
    """Runs ``work`` over ``items`` in a background thread, at most ``depth`` results ahead of the consumer.

    Iterating yields the results in input order. Leaving the ``with`` block (also on Ctrl-C) stops the
    thread after the item it is on; an exception that escapes ``work`` is re-raised in the consumer.
    """

    def __init__(self, items: Sequence[T], work: Callable[[T], R], depth: int) -> None:
        self._items, self._work = items, work
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="subgen-prefetch", daemon=True)

    def __enter__(self) -> Iterator[R]:
        self._thread.start()
        return self._results()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()  # a producer waiting on a full queue notices within 0.1 s
        # A download or extraction in progress is not waited for long: the thread is a daemon.
        self._thread.join(timeout=STOP_WAIT)

    def _produce(self) -> None:
        try:
            for item in self._items:
                if self._stop.is_set():
                    return
                self._put(self._work(item))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)
        self._put(_END)

    def _put(self, value: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return
            except queue.Full:
                continue

    def _results(self) -> Iterator[R]:
        while True:
            value = self._queue.get()
            if value is _END:
                return
            if isinstance(value, BaseException):
                raise value
            yield value
