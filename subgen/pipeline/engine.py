"""The engine a batch decodes with: loaded on first use, once, and kept for reuse across batches and calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from subgen.asr.engines.base import Engine
from subgen.core.errors import SubgenError
from subgen.core.options import TranscribeOptions


@dataclass
class EngineSlot:
    """Loads the engine on first use, once; remembers a load failure so later items fail fast.

    A finished batch whose outputs all exist never calls ``get``, so it reruns without loading a model.
    """

    factory: Callable[[], Engine]
    engine: Engine | None = None
    error: SubgenError | None = None
    load_seconds: float = 0.0

    def get(self) -> Engine:
        """The loaded engine (loads it now if needed; re-raises an earlier load failure)."""
        if self.error is not None:
            raise self.error
        if self.engine is None:
            started = time.monotonic()
            try:
                self.engine = self.factory()
            except SubgenError as exc:
                self.error = exc
                raise
            finally:
                self.load_seconds = time.monotonic() - started
        return self.engine


def engine_key(options: TranscribeOptions) -> tuple:
    """What decides which engine decodes: two option sets with the same key can share one loaded engine."""
    return options.model, options.engine, options.device, options.batch_size, options.vad


@dataclass
class EngineCache:
    """Keeps the most recently used engine loaded, so that many calls with the same model load it once."""

    loader: Callable[[TranscribeOptions], Engine]
    _key: tuple | None = None
    _engine: Engine | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, options: TranscribeOptions) -> Engine:
        """The engine for ``options``: the cached one when its key matches, else a newly loaded one."""
        key = engine_key(options)
        with self._lock:
            if self._engine is None or self._key != key:
                self._engine, self._key = None, None  # free the old model before loading the next
                self._engine, self._key = self.loader(options), key
            return self._engine

    def clear(self) -> None:
        """Drop the cached engine (its memory is freed when no caller holds it)."""
        with self._lock:
            self._engine, self._key = None, None
