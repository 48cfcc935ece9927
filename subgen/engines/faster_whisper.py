"""faster-whisper (CTranslate2) engine: int8 on CPU, float16 on CUDA, batched windows with word timestamps."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from subgen import models
from subgen.config import TranscribeOptions
from subgen.engines.base import (
    COMPRESSION_LIMIT,
    FALLBACK_BEAM,
    FALLBACK_TEMPERATURES,
    LOGPROB_LIMIT,
    NO_SPEECH_LIMIT,
    BatchSize,
    OutOfMemory,
    ProgressFn,
    Segment,
    Transcript,
    WindowedEngine,
    Word,
    choose_device,
)
from subgen.errors import EngineError, ModelNotAvailable
from subgen.media import SAMPLE_RATE, AudioClip

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

    def __init__(self, source: models.ModelSource, device: str = "auto", batch_size: int | None = None) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.model_name = source.name
        self.device = resolve_device(device)
        self.compute_type = "float16" if self.device == "cuda" else "int8"
        self.batch = BatchSize.for_device(batch_size, self.device)
        log.info("loading %s on %s (%s)", source.name, self.device, self.compute_type)
        try:
            self._model = WhisperModel(
                _model_path(source),
                device=self.device,
                compute_type=self.compute_type,
                download_root=str(models.cache_dir() / "ct2-downloads"),
            )
        except (OSError, RuntimeError, ValueError) as exc:
            if source.kind == "openai-name":
                raise ModelNotAvailable(
                    f"model '{source.name}' is not cached and could not be downloaded ({exc}); connect to the "
                    "internet once, or use a bundled model (--model base or --model tiny.en) or a local path"
                ) from exc
            raise ModelNotAvailable(f"{source.path}: could not load the CTranslate2 model ({exc})") from exc
        self._pipeline = BatchedInferencePipeline(self._model)
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
        if not self.multilingual:
            return "en"
        language, _, _ = self._model.detect_language(np.asarray(samples[: 30 * SAMPLE_RATE], dtype=np.float32))
        return language

    def _decode_batch(
        self, windows: Sequence[np.ndarray], options: TranscribeOptions, language: str
    ) -> list[tuple[Segment, ...]]:
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer

        extract = self._model.feature_extractor
        frames = max(encoder_frames(len(w) / SAMPLE_RATE) for w in windows)  # one value when the batcher groups
        features = np.stack([pad_or_trim(extract(np.asarray(w, dtype=np.float32))[..., :-1], frames) for w in windows])
        tokenizer = Tokenizer(self._model.hf_tokenizer, self.multilingual, task=options.task, language=language)
        metadata = [{"offset": 0.0, "duration": len(w) / SAMPLE_RATE, "segments": []} for w in windows]
        # Every window's times start at 0, so the word-timing state must not carry over from the last call.
        self._pipeline.last_speech_timestamp = 0.0
        try:
            outputs = self._pipeline.forward(features, tokenizer, metadata, self._options(options, tokenizer))
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
