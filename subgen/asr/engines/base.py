"""The Engine interface, the batch size that halves on out-of-memory, and the failed-window rule."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from subgen.audio.media import AudioClip
from subgen.core.errors import EngineError, OutOfMemory
from subgen.core.options import TranscribeOptions
from subgen.core.types import Segment, Transcript

log = logging.getLogger(__name__)

ProgressFn = Callable[[float], None]
"""Called with the number of audio seconds decoded so far."""


class Engine(Protocol):
    """A loaded speech model. Load once per batch, then transcribe many clips."""

    name: str
    model_name: str
    device: str

    @property
    def batch_size(self) -> int:
        """Windows per decode call now (may shrink after an out-of-memory)."""
        ...

    def transcribe(
        self, audio: AudioClip, options: TranscribeOptions, progress: ProgressFn | None = None
    ) -> Transcript:
        """Decode a clip into timestamped segments with words."""
        ...

    def language_probability(self, samples: np.ndarray) -> tuple[str, float]:
        """``detect_language``'s answer with the model's probability for it (1.0 for English-only models)."""
        ...

    def detect_language(self, samples: np.ndarray) -> str:
        """The language code spoken in (up to 30 s of) ``samples``; ``en`` for English-only models."""
        ...

    def decode_windows(
        self, windows: Sequence[np.ndarray], options: TranscribeOptions, language: str
    ) -> list[tuple[Segment, ...]]:
        """Decode windows of at most 30 s in one batch; times in each result count from its window's start."""
        ...

    def encoder_seconds(self, duration: float) -> float:
        """Seconds of audio the encoder hears for a window this long; only windows of equal value share a batch."""
        ...


WindowDecodeFn = Callable[[Sequence[np.ndarray]], list[tuple[Segment, ...]]]

CPU_BATCH, CUDA_BATCH = 4, 16
"""Default windows per decode call. On CPU the time per window hardly changes with the batch (the encoder
is compute-bound), while memory grows ~65 MB per window (tiny.en's attention over 1500 frames): 4 keeps the
decoder busy at a peak below faster-whisper's batched pipeline. A GPU wants wide batches."""
COMPRESSION_LIMIT, LOGPROB_LIMIT, NO_SPEECH_LIMIT = 2.4, -1.0, 0.6
"""Whisper's own signs of a failed window (a repetition loop, a low-confidence guess, silence)."""
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
FALLBACK_BEAM = 5


def choose_device(device: str, gpu_seen: bool, runtime: str, fix: str) -> str:
    """``auto`` becomes ``cuda`` when ``runtime`` sees a GPU, else ``cpu``; ``cuda`` without one is an error."""
    if device == "auto":
        return "cuda" if gpu_seen else "cpu"
    if device == "cuda" and not gpu_seen:
        raise EngineError(f"--device cuda: {runtime} sees no CUDA GPU; {fix}")
    return device


@dataclass
class BatchSize:
    """The windows per decode call: starts at the requested size and only ever shrinks after out-of-memory."""

    current: int

    @classmethod
    def for_device(cls, requested: int | None, device: str) -> BatchSize:
        """``requested``, or the default for ``device`` (wide batches on a GPU)."""
        return cls(requested or (CUDA_BATCH if device == "cuda" else CPU_BATCH))

    def decode(self, decode: WindowDecodeFn, windows: Sequence[np.ndarray]) -> list[tuple[Segment, ...]]:
        """``decode`` over ``windows`` in slices of the current size, halving it whenever a slice runs out of memory.

        A single window that does not fit is a real failure and is re-raised.
        """
        results: list[tuple[Segment, ...]] = []
        start = 0
        while start < len(windows):
            part = windows[start : start + self.current]
            try:
                results.extend(decode(part))
            except OutOfMemory:
                if self.current == 1:
                    raise
                self.current = max(1, self.current // 2)
                log.warning("out of GPU memory; batch size lowered to %d", self.current)
                continue
            start += len(part)
        return results


def window_failed(segments: tuple[Segment, ...]) -> bool:
    """True when a batched window looks like one Whisper would have decoded again (loop or low confidence)."""
    if not segments:
        return False
    text = "".join(s.text for s in segments)
    silent = all(s.no_speech_prob > NO_SPEECH_LIMIT for s in segments)
    low = min(s.avg_logprob for s in segments) < LOGPROB_LIMIT
    return compression_ratio(text) > COMPRESSION_LIMIT or (low and not silent)


def compression_ratio(text: str) -> float:
    """How much zlib shrinks ``text`` (Whisper's repetition-loop detector)."""
    import zlib

    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


class WindowedEngine(ABC):
    """What both real engines share: the batch size, and ``decode_windows`` on top of their own
    ``_decode_batch`` (one decoder call, may raise ``OutOfMemory``) and ``_fallback`` (one window, carefully)."""

    batch: BatchSize

    @property
    def batch_size(self) -> int:
        """Windows per decode call now (lowered after a CUDA out-of-memory)."""
        return self.batch.current

    def encoder_seconds(self, duration: float) -> float:
        """Whisper's full 30 s, whatever the window's length (engines that encode less override this)."""
        return 30.0

    def decode_windows(
        self, windows: Sequence[np.ndarray], options: TranscribeOptions, language: str
    ) -> list[tuple[Segment, ...]]:
        """Decode windows in batches (halving the batch on CUDA out-of-memory); a failed window is redone alone."""
        results = self.batch.decode(lambda part: self._decode_batch(part, options, language), windows)
        return [
            self._fallback(w, options, language) if window_failed(r) else r
            for w, r in zip(windows, results, strict=True)
        ]

    @abstractmethod
    def _decode_batch(
        self, windows: Sequence[np.ndarray], options: TranscribeOptions, language: str
    ) -> list[tuple[Segment, ...]]:
        """One decoder call over ``windows`` (may raise ``OutOfMemory``)."""

    @abstractmethod
    def _fallback(self, window: np.ndarray, options: TranscribeOptions, language: str) -> tuple[Segment, ...]:
        """One window decoded the careful way (beam search, then temperature fallback)."""
