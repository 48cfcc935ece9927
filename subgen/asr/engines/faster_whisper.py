"""faster-whisper (CTranslate2) engine: int8 on CPU, float16 on CUDA, batched windows with word timestamps."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from subgen.asr import models
from subgen.asr.engines.base import (
    COMPRESSION_LIMIT,
    FALLBACK_BEAM,
    FALLBACK_TEMPERATURES,
    LOGPROB_LIMIT,
    NO_SPEECH_LIMIT,
    BatchSize,
    OutOfMemory,
    ProgressFn,
    WindowedEngine,
    choose_device,
)
from subgen.audio.media import SAMPLE_RATE, AudioClip
from subgen.core.errors import EngineError, ModelNotAvailable
from subgen.core.options import TranscribeOptions
from subgen.core.types import Segment, Transcript, Word

log = logging.getLogger(__name__)

PUNCTUATION_BEFORE, PUNCTUATION_AFTER = "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、"

FRAMES_PER_SECOND = 100
"""Mel frames per second of audio (hop of 160 samples at 16 kHz)."""
FULL_FRAMES = 30 * FRAMES_PER_SECOND
"""The 30 s Whisper was trained to hear."""
TAIL_FRAMES = 300
"""Silence the encoder hears after a window (3 s).

CTranslate2's Whisper encoder takes fewer than 3000 frames, and its cost falls faster than the length (on 2 CPU
cores: 0.21 s for 30 s, 0.09 s for 20 s, 0.05 s for 15 s). Whisper still needs silence after the speech to end
its text cleanly. On the speed benchmark (29 s windows, each batch padded to its longest window), pooled WER
with the full 30 s was 5.7 % (short clips 5.4 %); with a 0.5 s tail 7.2 % (clips 9.0 %); with 2, 3 and 5 s 5.6,
5.3 and 5.5 %.
"""
MIN_FRAMES = 10 * FRAMES_PER_SECOND
"""The least the encoder hears (10 s): decoded alone, a 3 s window with a 3 s tail came out twice over
("stuffered into you his belly counseled him" repeated, long-form A); from 10 s up it is heard once."""
CPU_WORKERS = 2
"""Batches decoded at once on a CPU (CTranslate2 replicas sharing the cores).

Whisper's decoder runs one small step per token, and on 2 cores two threads spend much of each step waiting
on each other: a 4-window beam-5 batch took 0.69 s with 2 threads and 0.89 s with 1, while two 1-thread
replicas decoded two such batches in 0.85 s (1.6x the throughput; greedy 2.8x). The encoder gains nothing
either way. Measured on 2 cores only; bigger machines get 2 replicas with the cores split between them.
"""


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when CTranslate2 sees a GPU, else ``cpu``; ``cuda`` without one is an error."""
    import ctranslate2

    return choose_device(device, ctranslate2.get_cuda_device_count() > 0, "CTranslate2", "use --device cpu or auto")


def _model_path(source: models.ModelSource) -> str:
    if source.kind == "ct2":
        assert source.path is not None
        return str(source.path)
    if source.kind == "openai-name":
        return source.name  # faster-whisper downloads the CTranslate2 conversion from the Hugging Face Hub
    raise EngineError(
        f"{source.path}: faster-whisper loads CTranslate2 model folders, not openai-whisper .pt files; "
        "use --engine openai-whisper for this model"
    )


class FasterWhisperEngine(WindowedEngine):
    """A loaded CTranslate2 Whisper model and faster-whisper's batched decoder around it."""

    name = "faster-whisper"

    def __init__(
        self,
        source: models.ModelSource,
        device: str = "auto",
        batch_size: int | None = None,
        workers: int | None = None,
    ) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.model_name = source.name
        self.device = resolve_device(device)
        self.compute_type = "float16" if self.device == "cuda" else "int8"
        self.batch = BatchSize.for_device(batch_size, self.device)
        # A replica without windows to decode would leave its cores idle: never more replicas than the batch.
        wanted = workers or min(CPU_WORKERS, self.batch.current)
        self.workers, threads = (1, 0) if self.device == "cuda" else cpu_layout(cpu_cores(), wanted)
        log.info(
            "loading %s on %s (%s, %d decoder(s) x %s thread(s))",
            source.name, self.device, self.compute_type, self.workers, threads or "auto",
        )  # fmt: skip
        try:
            self._model = WhisperModel(
                _model_path(source),
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=threads,
                num_workers=self.workers,
                download_root=str(models.cache_dir() / "ct2-downloads"),
            )
        except (OSError, RuntimeError, ValueError) as exc:
            if source.kind == "openai-name":
                raise ModelNotAvailable(
                    f"model '{source.name}' is not cached and could not be downloaded ({exc}); connect to the "
                    "internet once, or use a bundled model (--model base or --model tiny.en) or a local path"
                ) from exc
            raise ModelNotAvailable(f"{source.path}: could not load the CTranslate2 model ({exc})") from exc
        # One pipeline per replica: a pipeline carries word-timing state from call to call.
        self._pipelines = tuple(BatchedInferencePipeline(self._model) for _ in range(self.workers))
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="subgen-decode")
        self.multilingual = bool(self._model.model.is_multilingual)

    def transcribe(
        self, audio: AudioClip, options: TranscribeOptions, progress: ProgressFn | None = None
    ) -> Transcript:
        """Decode a whole clip sequentially (faster-whisper's 30 s seek loop) with word timestamps."""
        segments, info = self._model.transcribe(
            np.asarray(audio.samples, dtype=np.float32),
            language=options.language,
            task=options.task,
            beam_size=options.beam_size,
            initial_prompt=options.initial_prompt,
            condition_on_previous_text=options.condition_on_previous_text,
            word_timestamps=True,
            vad_filter=False,
        )
        out = []
        for segment in segments:
            out.append(_segment(segment))
            if progress:
                progress(segment.end)
        language = "en" if options.task == "translate" or not self.multilingual else info.language
        return Transcript(language, tuple(out), audio.duration, self.model_name, options.task)

    def encoder_seconds(self, duration: float) -> float:
        """Seconds of audio the encoder hears for a window of ``duration`` (see ``encoder_frames``)."""
        return encoder_frames(duration) / FRAMES_PER_SECOND

    def detect_language(self, samples: np.ndarray) -> str:
        """The most likely language of the first 30 s of ``samples``."""
        return self.language_probability(samples)[0]

    def language_probability(self, samples: np.ndarray) -> tuple[str, float]:
        """The most likely language of the first 30 s of ``samples`` and the model's probability for it."""
        if not self.multilingual:
            return "en", 1.0
        language, probability, _ = self._model.detect_language(
            np.asarray(samples[: 30 * SAMPLE_RATE], dtype=np.float32)
        )
        return language, float(probability)

    def _decode_batch(
        self, windows: Sequence[np.ndarray], options: TranscribeOptions, language: str
    ) -> list[tuple[Segment, ...]]:
        """The windows split between the replicas, each part decoded as one batch; results in window order."""
        from faster_whisper.tokenizer import Tokenizer

        frames = max(encoder_frames(len(w) / SAMPLE_RATE) for w in windows)  # one value when the batcher groups
        tokenizer = Tokenizer(self._model.hf_tokenizer, self.multilingual, task=options.task, language=language)
        settings = self._options(options, tokenizer)
        parts = split_evenly(windows, self.workers)
        futures = [
            self._pool.submit(self._forward, pipeline, part, frames, tokenizer, settings)
            for pipeline, part in zip(self._pipelines, parts, strict=False)
        ]
        wait(futures)  # every part finishes before an error from one of them is raised
        return [segments for future in futures for segments in future.result()]

    def _forward(
        self, pipeline: Any, windows: Sequence[np.ndarray], frames: int, tokenizer: Any, settings: Any
    ) -> list[tuple[Segment, ...]]:
        """One batch through faster-whisper's batched forward: encode, text-only decode, word alignment."""
        from faster_whisper.audio import pad_or_trim

        extract = self._model.feature_extractor
        features = np.stack([pad_or_trim(extract(np.asarray(w, dtype=np.float32))[..., :-1], frames) for w in windows])
        metadata = [{"offset": 0.0, "duration": len(w) / SAMPLE_RATE, "segments": []} for w in windows]
        # Every window's times start at 0, so the word-timing state must not carry over from the last call.
        pipeline.last_speech_timestamp = 0.0
        try:
            outputs = pipeline.forward(features, tokenizer, metadata, settings)
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower():
                raise OutOfMemory(str(exc)) from exc
            raise EngineError(f"decoding failed ({exc})") from exc
        return [tuple(_segment_dict(s) for s in output if s["tokens"]) for output in outputs]

    def _options(self, options: TranscribeOptions, tokenizer: Any) -> Any:
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        return TranscriptionOptions(
            beam_size=options.beam_size,
            best_of=1,
            patience=1.0,
            length_penalty=1.0,
            repetition_penalty=1.0,
            no_repeat_ngram_size=0,
            log_prob_threshold=LOGPROB_LIMIT,
            no_speech_threshold=NO_SPEECH_LIMIT,
            compression_ratio_threshold=COMPRESSION_LIMIT,
            condition_on_previous_text=False,
            prompt_reset_on_temperature=0.5,
            temperatures=[0.0],
            initial_prompt=options.initial_prompt,
            prefix=None,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            # Text only: no timestamp tokens to decode (words get their times from the alignment pass, and cues
            # are cut from words). On the speed benchmark's 479 s this gave 5.7 % WER instead of 6.6 %.
            without_timestamps=True,
            max_initial_timestamp=0.0,
            word_timestamps=True,
            prepend_punctuations=PUNCTUATION_BEFORE,
            append_punctuations=PUNCTUATION_AFTER,
            multilingual=False,
            max_new_tokens=None,
            clip_timestamps=[],
            hallucination_silence_threshold=None,
            hotwords=None,
        )

    def _fallback(self, window: np.ndarray, options: TranscribeOptions, language: str) -> tuple[Segment, ...]:
        """Redo one window the careful way: beam search, then sampling at rising temperatures (seeded)."""
        import ctranslate2

        ctranslate2.set_random_seed(0)
        segments, _ = self._model.transcribe(
            np.asarray(window, dtype=np.float32),
            language=language,
            task=options.task,
            beam_size=max(options.beam_size, FALLBACK_BEAM),
            temperature=list(FALLBACK_TEMPERATURES),
            initial_prompt=options.initial_prompt,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad_filter=False,
        )
        return tuple(_segment(s) for s in segments)


def cpu_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_layout(cores: int, workers: int | None = None) -> tuple[int, int]:
    """(batches decoded at once, threads each) on ``cores`` CPU cores; ``workers`` defaults to ``CPU_WORKERS``."""
    workers = max(1, min(workers or CPU_WORKERS, cores))
    return workers, max(1, cores // workers)


def split_evenly(windows: Sequence[np.ndarray], parts: int) -> list[Sequence[np.ndarray]]:
    """``windows`` cut into at most ``parts`` runs of consecutive windows, sizes differing by at most one."""
    size, extra = divmod(len(windows), parts)
    out, start = [], 0
    for index in range(min(parts, len(windows))):
        end = start + size + (index < extra)
        out.append(windows[start:end])
        start = end
    return out


def encoder_frames(duration: float) -> int:
    """Mel frames the encoder hears for a window this long (seconds): the window and a silent tail, 10-30 s.

    Each window's length depends on its own duration only; the batcher batches windows of equal length, so a
    file is decoded the same whatever files it is batched with.
    """
    return min(FULL_FRAMES, max(MIN_FRAMES, math.ceil(duration) * FRAMES_PER_SECOND + TAIL_FRAMES))


def _words(words: Iterable[Any] | None) -> tuple[Word, ...]:
    return tuple(Word(w.word, float(w.start), float(w.end), float(w.probability)) for w in words or ())


def _segment(segment: Any) -> Segment:
    return Segment(
        start=float(segment.start),
        end=float(segment.end),
        text=segment.text,
        words=_words(segment.words),
        avg_logprob=float(segment.avg_logprob),
        no_speech_prob=float(segment.no_speech_prob),
    )


def _segment_dict(segment: dict) -> Segment:
    return Segment(
        start=float(segment["start"]),
        end=float(segment["end"]),
        text=segment["text"],
        words=tuple(
            Word(w["word"], float(w["start"]), float(w["end"]), float(w["probability"]))
            for w in segment.get("words") or ()
        ),
        avg_logprob=float(segment["avg_logprob"]),
        no_speech_prob=float(segment["no_speech_prob"]),
    )
