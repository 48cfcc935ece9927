"""Voice activity detection: Silero VAD (the ONNX model faster-whisper ships) on onnxruntime, no torch."""

from __future__ import annotations

import bisect
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from subgen.audio.media import SAMPLE_RATE, AudioClip, Samples
from subgen.core.errors import EngineError
from subgen.core.types import SpeechRegion

log = logging.getLogger(__name__)

WINDOW = 512
"""Samples per Silero decision at 16 kHz (32 ms)."""
CONTEXT = 64
"""Samples of the previous window the model sees in front of each window."""
STATE_SHAPE = (1, 1, 128)
CHUNK_WINDOWS = 512
"""Windows (16 s) per block read from the clip and per onnxruntime call; the state carries across, so this only
bounds memory: onnxruntime holds about 30 kB per window in flight, and larger blocks run no faster."""
MODEL_PACKAGE, MODEL_FILE = "faster_whisper", "assets/silero_vad_v6.onnx"


@dataclass(frozen=True)
class VadOptions:
    """How speech probabilities become regions (seconds); padding keeps word onsets and tails intact."""

    threshold: float = 0.35
    neg_threshold: float | None = None
    min_speech: float = 0.25
    min_silence: float = 1.0
    speech_pad: float = 0.4

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise ValueError(f"VAD threshold must be in (0, 1), not {self.threshold}")
        if self.neg_threshold is not None and not 0 < self.neg_threshold <= self.threshold:
            raise ValueError(f"VAD neg_threshold must be in (0, threshold], not {self.neg_threshold}")
        if min(self.min_speech, self.min_silence, self.speech_pad) < 0:
            raise ValueError("VAD durations must not be negative")

    @property
    def release(self) -> float:
        """The probability under which an ongoing region counts as silence (hysteresis)."""
        return self.neg_threshold if self.neg_threshold is not None else max(self.threshold - 0.15, 0.01)


def model_path() -> Path:
    """The Silero VAD ONNX file inside the installed faster-whisper package."""
    from importlib import resources

    try:
        path = Path(str(resources.files(MODEL_PACKAGE) / MODEL_FILE))
    except ModuleNotFoundError as exc:
        raise EngineError(
            "voice activity detection needs the Silero model from faster-whisper: pip install faster-whisper "
            "(or run with --no-vad)"
        ) from exc
    if not path.is_file():
        raise EngineError(f"{path}: Silero VAD model missing; reinstall faster-whisper (or run with --no-vad)")
    return path


@functools.cache
def _session() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise EngineError("voice activity detection needs onnxruntime: pip install onnxruntime (or --no-vad)") from exc
    opts = onnxruntime.SessionOptions()
    # One thread is plenty (about 1000x realtime) and leaves the cores to the speech model.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return onnxruntime.InferenceSession(str(model_path()), sess_options=opts, providers=["CPUExecutionProvider"])


def _framed(context: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Rows of CONTEXT + WINDOW samples: each window of ``block`` preceded by the samples before it.

    ``context`` holds the CONTEXT samples in front of ``block`` (zeros at the clip's start); a short last
    block is zero-padded to whole windows.
    """
    windows = -(-len(block) // WINDOW)
    padded = np.zeros(CONTEXT + windows * WINDOW, dtype=np.float32)
    padded[:CONTEXT] = context
    padded[CONTEXT : CONTEXT + len(block)] = block
    view = np.lib.stride_tricks.sliding_window_view(padded, CONTEXT + WINDOW)
    return view[::WINDOW][:windows]


def speech_probabilities(samples: Samples) -> np.ndarray:
    """Silero's speech probability for every 32 ms window of 16 kHz mono ``samples``.

    The audio is read a block of CHUNK_WINDOWS windows at a time, with the window context and the LSTM
    state carried across blocks, so memory stays flat for any length and the result is that of one pass.
    """
    session = _session()
    block_size = CHUNK_WINDOWS * WINDOW
    context = np.zeros(CONTEXT, dtype=np.float32)
    h = np.zeros(STATE_SHAPE, dtype=np.float32)
    c = np.zeros(STATE_SHAPE, dtype=np.float32)
    out = []
    for first in range(0, len(samples), block_size):
        block = np.asarray(samples[first : first + block_size], dtype=np.float32)
        rows = np.ascontiguousarray(_framed(context, block))
        probs, h, c = session.run(None, {"input": rows, "h": h, "c": c})
        out.append(np.asarray(probs, dtype=np.float32).reshape(-1))
        context = block[-CONTEXT:].copy()  # every block but the last is whole windows, so this is what follows
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def _raw_regions(probs: np.ndarray, options: VadOptions) -> list[tuple[int, int]]:
    """Window index spans [start, end) of speech: enter above threshold, leave after min_silence below release."""
    window_s = WINDOW / SAMPLE_RATE
    hold = max(1, round(options.min_silence / window_s))
    spans, start, quiet_since = [], None, None
    for i, p in enumerate(probs):
        if start is None:
            if p >= options.threshold:
                start, quiet_since = i, None
            continue
        if p >= options.threshold or (p >= options.release and quiet_since is None):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = i
        if quiet_since is not None and i - quiet_since + 1 >= hold:
            spans.append((start, quiet_since))
            start, quiet_since = None, None
    if start is not None:
        spans.append((start, quiet_since if quiet_since is not None else len(probs)))
    min_windows = options.min_speech / window_s
    return [(a, b) for a, b in spans if b - a >= min_windows]


def regions_from_probabilities(probs: np.ndarray, duration: float, options: VadOptions) -> tuple[SpeechRegion, ...]:
    """Padded, merged speech regions in seconds from per-window probabilities."""
    window_s = WINDOW / SAMPLE_RATE
    merged: list[SpeechRegion] = []
    for a, b in _raw_regions(probs, options):
        start = max(0.0, a * window_s - options.speech_pad)
        end = min(duration, b * window_s + options.speech_pad)
        if merged and start <= merged[-1].end:
            merged[-1] = SpeechRegion(merged[-1].start, max(end, merged[-1].end))
        else:
            merged.append(SpeechRegion(start, end))
    return tuple(merged)


def speech_regions(clip: AudioClip, options: VadOptions | None = None) -> tuple[SpeechRegion, ...]:
    """Where ``clip`` has speech, as padded regions on its timeline; empty when nobody speaks."""
    if clip.sample_rate != SAMPLE_RATE:
        raise EngineError(f"{clip.source}: VAD needs {SAMPLE_RATE} Hz audio, got {clip.sample_rate} Hz")
    options = options or VadOptions()
    regions = regions_from_probabilities(speech_probabilities(clip.samples), clip.duration, options)
    speech = sum(r.duration for r in regions)
    log.debug("%s: VAD found %d speech regions, %.1f of %.1f s", clip.source, len(regions), speech, clip.duration)
    return regions


LOUD_REACH = 1.0
"""How far (seconds) a region's start may move back over audio as loud as its voice that VAD did not score as
speech (seen: "I believe" at -22 dBFS on a band-limited 1961 recording, Silero's probability under 0.31)."""
LOUD_WITHIN = 6.0
"""Audio counts as loud within this many dB of the level of the region's first second of voice; a noise or music
bed 10 dB or more under the speech does not."""
LOUD_FRAME, LOUD_DIP, LOUD_PAD = 0.032, 0.1, 0.2
"""Frame length, the longest quiet dip inside loud audio (between words), and the padding kept before it."""


def _level(samples: np.ndarray) -> float:
    """RMS level in dB (full scale 1.0); -120 dB for no samples or digital silence."""
    if not len(samples):
        return -120.0
    return 10 * float(np.log10(np.mean(np.square(samples, dtype=np.float64)) + 1e-12))


def _loud_from(clip: AudioClip, start: float, low: float, reference: float) -> float:
    """The earliest time after ``low`` from which the audio up to ``start`` stays loud (dips up to ``LOUD_DIP``
    allowed); ``start`` when the audio just before it is quiet."""
    rate, earliest, quiet, t = clip.sample_rate, start, 0.0, start
    while t - LOUD_FRAME >= low and quiet <= LOUD_DIP:
        frame = np.asarray(clip.samples[round((t - LOUD_FRAME) * rate) : round(t * rate)])
        loud = _level(frame) >= reference - LOUD_WITHIN
        earliest, quiet = (t - LOUD_FRAME, 0.0) if loud else (earliest, quiet + LOUD_FRAME)
        t -= LOUD_FRAME
    return earliest if earliest == start else max(low, earliest - LOUD_PAD)


def loud_onsets_kept(
    regions: tuple[SpeechRegion, ...], spans: tuple[SpeechRegion, ...], clip: AudioClip
) -> tuple[SpeechRegion, ...]:
    """``regions`` each started earlier where the audio before it is as loud as its voice (speech VAD missed)."""
    rate, onsets = clip.sample_rate, [s.start for s in spans]
    out: list[SpeechRegion] = []
    for region in regions:
        k = bisect.bisect_left(onsets, region.start)
        if k < len(spans) and spans[k].start < region.end:
            voice = spans[k]
            heard = np.asarray(clip.samples[round(voice.start * rate) : round(min(voice.end, voice.start + 1) * rate)])
            low = max(out[-1].end if out else 0.0, region.start - LOUD_REACH)
            region = SpeechRegion(_loud_from(clip, region.start, low, _level(heard)), region.end)
        out.append(region)
    return tuple(out)


SPAN_OPTIONS = VadOptions(min_speech=0.1, min_silence=0.15, speech_pad=0.0)
"""Fine, unpadded speech spans: where each stretch of voice starts and stops (for word-time alignment)."""


@dataclass(frozen=True)
class SpeechActivity:
    """What VAD found in a clip: padded regions to decode, and fine unpadded spans of voice to align words to."""

    regions: tuple[SpeechRegion, ...]
    spans: tuple[SpeechRegion, ...]


def speech_activity(clip: AudioClip, options: VadOptions | None = None) -> SpeechActivity:
    """Decode regions (as ``speech_regions``) and fine voice spans from one pass of the model."""
    if clip.sample_rate != SAMPLE_RATE:
        raise EngineError(f"{clip.source}: VAD needs {SAMPLE_RATE} Hz audio, got {clip.sample_rate} Hz")
    probs = speech_probabilities(clip.samples)
    spans = regions_from_probabilities(probs, clip.duration, SPAN_OPTIONS)
    regions = loud_onsets_kept(regions_from_probabilities(probs, clip.duration, options or VadOptions()), spans, clip)
    log.debug("%s: VAD found %d speech regions, %d voice spans", clip.source, len(regions), len(spans))
    return SpeechActivity(regions, spans)
