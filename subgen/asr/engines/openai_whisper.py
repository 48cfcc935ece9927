"""openai-whisper (PyTorch) engine: word timestamps, fp16 on CUDA, fp32 on CPU, batched windows."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from subgen.asr import models
from subgen.asr.engines.base import (
    FALLBACK_BEAM,
    FALLBACK_TEMPERATURES,
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


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without one is an error."""
    import torch

    return choose_device(
        device, torch.cuda.is_available(), "torch", "use --device cpu or install a CUDA build of torch"
    )


def _load_checkpoint(path: Path, device: str) -> Any:
    """An openai-whisper checkpoint, loaded as weights only: a pickle that would run code is refused."""
    import pickle

    import torch
    import whisper

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        model = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
        model.load_state_dict(checkpoint["model_state_dict"])
    except (pickle.UnpicklingError, RuntimeError, KeyError, TypeError, ValueError, EOFError, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelNotAvailable(
            f"{path}: not a loadable openai-whisper checkpoint ({reason[:160]}); only plain weights are loaded, "
            "never code: pass a checkpoint saved by openai-whisper, a CTranslate2 folder or a model name"
        ) from exc
    if checkpoint.get("alignment_heads") is not None:
        model.set_alignment_heads(checkpoint["alignment_heads"])
    return model.to(device)


def _load_named(name: str, device: str) -> Any:
    import whisper

    root = models.cache_dir() / "openai-downloads"
    try:
        return whisper.load_model(name, device=device, download_root=str(root))
    except (OSError, RuntimeError) as exc:  # urllib's URLError is an OSError
        raise ModelNotAvailable(
            f"model '{name}' is not cached and could not be downloaded ({exc}); connect to the internet "
            "once, or use a bundled model (--model base or --model tiny.en) or a local path"
        ) from exc


class OpenAIWhisperEngine(WindowedEngine):
    """A loaded openai-whisper model."""

    name = "openai-whisper"

    def __init__(self, source: models.ModelSource, device: str = "auto", batch_size: int | None = None) -> None:
        self.model_name = source.name
        self.device = resolve_device(device)
        self.source = source
        self.batch = BatchSize.for_device(batch_size, self.device)
        log.info("loading %s on %s", source.name, self.device)
        if source.kind == "openai-name":
            self._model = _load_named(source.name, self.device)
        else:
            path = models.openai_checkpoint_path(source) if source.kind == "ct2" else source.path
            if path is None:
                raise ModelNotAvailable(f"model '{source.name}' has no weights file; pass a .pt file or a model name")
            self._model = _load_checkpoint(path, self.device)

    def transcribe(
        self, audio: AudioClip, options: TranscribeOptions, progress: ProgressFn | None = None
    ) -> Transcript:
        """Decode the clip with word timestamps."""
        import torch
        import whisper

        # Whisper samples at temperature > 0 when a greedy pass looks unreliable; a fixed seed makes the
        # same input give the same subtitles on every run.
        torch.manual_seed(0)

        with _progress_hook(progress), warnings.catch_warnings():
            # openai-whisper warns on every translated clip; the JSON output documents word times instead.
            warnings.filterwarnings("ignore", message="Word-level timestamps on translations")
            try:
                result = whisper.transcribe(
                    self._model,
                    audio.samples,
                    language=options.language,
                    task=options.task,
                    initial_prompt=options.initial_prompt,
                    condition_on_previous_text=options.condition_on_previous_text,
                    word_timestamps=True,
                    fp16=self.device == "cuda",
                    verbose=None,
                )
            except RuntimeError as exc:
                raise EngineError(f"{audio.source}: transcription failed ({exc})") from exc
        return _to_transcript(result, audio, self.model_name, options.task)

    def detect_language(self, samples: np.ndarray) -> str:
        """The most likely language of the first 30 s of ``samples``."""
        return self.language_probability(samples)[0]

    def language_probability(self, samples: np.ndarray) -> tuple[str, float]:
        """The most likely language of the first 30 s of ``samples`` and the model's probability for it."""
        if not self._model.is_multilingual:
            return "en", 1.0
        from whisper.audio import N_SAMPLES

        mel, _ = _window_mel(self._model, samples[:N_SAMPLES])
        _, probs = self._model.detect_language(self._on_device(mel))
        language = max(probs, key=probs.get)
        return language, float(probs[language])

    def _decode_batch(
        self, windows: Sequence[np.ndarray], options: TranscribeOptions, language: str
    ) -> list[tuple[Segment, ...]]:
        try:
            return self._decode_mels(windows, options, language)
        except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is a RuntimeError
            if _out_of_memory(exc):
                raise OutOfMemory(str(exc)) from exc
            raise EngineError(f"decoding failed ({exc})") from exc

    def _decode_mels(
        self, windows: Sequence[np.ndarray], options: TranscribeOptions, language: str
    ) -> list[tuple[Segment, ...]]:
        """The windows' 30 s mels encoded once, decoded in one call from those features, and their words aligned
        against the same features (whisper.timing would run the encoder again for every window)."""
        import torch
        import whisper

        mels = [_window_mel(self._model, w) for w in windows]
        with torch.no_grad():
            features = self._model.embed_audio(self._on_device(torch.stack([mel for mel, _ in mels])))
        results = _decode(self._model, features, self._decoding_options(options, language))
        tokenizer = whisper.tokenizer.get_tokenizer(
            self._model.is_multilingual, num_languages=self._model.num_languages, language=language, task=options.task
        )
        return [
            self._window_segments(result, encoded, frames, tokenizer, len(window) / SAMPLE_RATE)
            for result, encoded, (_, frames), window in zip(results, features, mels, windows, strict=True)
        ]

    def _decoding_options(self, options: TranscribeOptions, language: str) -> Any:
        import whisper

        return whisper.DecodingOptions(
            task=options.task,
            language=language,
            beam_size=options.beam_size if options.beam_size > 1 else None,  # None is greedy
            temperature=0.0,
            without_timestamps=False,
            fp16=self.device == "cuda",
            prompt=options.initial_prompt,
        )

    def _window_segments(
        self, result: Any, features: Any, frames: int, tokenizer: Any, duration: float
    ) -> tuple[Segment, ...]:
        """One window's decode as segments with word timestamps, times from the window's start."""
        from whisper.timing import add_word_timestamps

        pieces = [
            p
            for p in _split_at_timestamps(result.tokens, tokenizer, duration, self._time_precision())
            if p["text"].strip()
        ]
        add_word_timestamps(
            segments=pieces,
            model=_Encoded(self._model),
            tokenizer=tokenizer,
            mel=features,
            num_frames=frames,
            last_speech_timestamp=0.0,
        )
        segments = (
            _clipped(
                _segment(p | {"avg_logprob": result.avg_logprob, "no_speech_prob": result.no_speech_prob}), duration
            )
            for p in pieces
        )
        return tuple(s for s in segments if s.end > s.start)

    def _time_precision(self) -> float:
        """Seconds per timestamp token (0.02 for every Whisper model)."""
        from whisper.audio import N_FRAMES

        return N_FRAMES // self._model.dims.n_audio_ctx * whisper_frame_seconds()

    def _on_device(self, mel: Any) -> Any:
        import torch

        return mel.to(self._model.device).to(torch.float16 if self.device == "cuda" else torch.float32)

    def _fallback(self, window: np.ndarray, options: TranscribeOptions, language: str) -> tuple[Segment, ...]:
        """Redo one window the careful way: beam search, then sampling at rising temperatures (seeded)."""
        import torch
        import whisper

        torch.manual_seed(0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Word-level timestamps on translations")
            try:
                result = whisper.transcribe(
                    self._model,
                    np.ascontiguousarray(window, dtype=np.float32),
                    language=language,
                    task=options.task,
                    temperature=FALLBACK_TEMPERATURES,
                    beam_size=max(options.beam_size, FALLBACK_BEAM),
                    best_of=FALLBACK_BEAM,
                    initial_prompt=options.initial_prompt,
                    condition_on_previous_text=False,
                    word_timestamps=True,
                    fp16=self.device == "cuda",
                    verbose=None,
                )
            except RuntimeError as exc:
                raise EngineError(f"decoding a window again failed ({exc})") from exc
        duration = len(window) / SAMPLE_RATE
        segments = (_clipped(_segment(s), duration) for s in result["segments"] if s["text"].strip())
        return tuple(s for s in segments if s.end > s.start)


def _decode(model: Any, features: Any, options: Any) -> list[Any]:
    """Whisper's decoding over a batch of encoded windows, beam search included.

    openai-whisper (20250625 and before) no longer repeats each window's encoded audio for its beams
    (openai/whisper#1483), so its ``decode`` fails on beam search over several windows with a tensor size
    mismatch. A ``DecodingTask`` subclass repeats them per beam.
    """
    return _encoded_task()(model, options).run(features)


@functools.cache
def _encoded_task() -> type:
    from whisper.decoding import DecodingTask

    class EncodedTask(DecodingTask):
        """A DecodingTask that starts from encoded audio, each window's copy repeated for its beams."""

        def _get_audio_features(self, features: Any) -> Any:
            return features.repeat_interleave(self.n_group, dim=0) if self.n_group > 1 else features

        def _detect_language(self, audio_features: Any, tokens: Any) -> Any:
            # One language per window, not per beam (``run`` pairs them with the windows).
            return super()._detect_language(audio_features[:: self.n_group], tokens)

    return EncodedTask


class _Encoded:
    """The model as ``whisper.timing`` calls it, ``model(audio, tokens)``, when the audio is already encoded:
    only the decoder runs (its cross-attention hooks fire as usual)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __call__(self, features: Any, tokens: Any) -> Any:
        return self._model.decoder(tokens, features)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def _window_mel(model: Any, samples: np.ndarray) -> tuple[Any, int]:
    """A window's log-mel padded to Whisper's 30 s input (as whisper.transcribe pads), and its count of audio frames."""
    import whisper
    from whisper.audio import N_FRAMES, N_SAMPLES

    audio = np.ascontiguousarray(samples, dtype=np.float32)
    mel = whisper.log_mel_spectrogram(audio, n_mels=model.dims.n_mels, padding=N_SAMPLES)
    frames = min(N_FRAMES, mel.shape[-1] - N_FRAMES)
    return whisper.pad_or_trim(mel[:, :frames], N_FRAMES), frames


def _split_at_timestamps(tokens: list[int], tokenizer: Any, duration: float, precision: float) -> list[dict]:
    """A window's tokens cut into segments at timestamp tokens, as whisper.transcribe cuts them.

    Consecutive timestamp pairs close a segment; text after the last pair is dropped unless a single timestamp
    ends it (Whisper's loop would go on from the last word; ``speech.undecoded`` gives the rest for a window of
    its own). Without any pair the whole window is one segment, ending at its last timestamp if it has one.
    """
    begin = tokenizer.timestamp_begin
    stamp = [t >= begin for t in tokens]
    cuts = [i for i in range(1, len(tokens)) if stamp[i - 1] and stamp[i]]
    if not cuts:
        stamps = [t for t in tokens if t >= begin]
        end = (stamps[-1] - begin) * precision if stamps and stamps[-1] != begin else duration
        return [_piece(tokens, 0.0, end, tokenizer)]
    if stamp[-2:] == [False, True]:
        cuts.append(len(tokens))
    starts = [0, *cuts[:-1]]
    return [
        _piece(tokens[a:b], (tokens[a] - begin) * precision, (tokens[b - 1] - begin) * precision, tokenizer)
        for a, b in zip(starts, cuts, strict=True)
    ]


def _piece(tokens: list[int], start: float, end: float, tokenizer: Any) -> dict:
    """A segment in whisper.transcribe's dict shape (what ``add_word_timestamps`` reads and fills in)."""
    text = tokenizer.decode([t for t in tokens if t < tokenizer.eot])
    return {"seek": 0, "start": start, "end": end, "tokens": tokens, "text": text}


def _clipped(segment: Segment, duration: float) -> Segment:
    """``segment`` and its words held inside ``[0, duration]`` (a timestamp token can point past a short window)."""

    def clip(t: float) -> float:
        return min(max(t, 0.0), duration)

    words = tuple(dataclasses.replace(w, start=clip(w.start), end=clip(w.end)) for w in segment.words)
    return dataclasses.replace(segment, start=clip(segment.start), end=clip(segment.end), words=words)


def _out_of_memory(exc: RuntimeError) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _segment(s: dict) -> Segment:
    """A segment from whisper's dict shape."""
    return Segment(
        start=float(s["start"]),
        end=float(s["end"]),
        text=s["text"],
        words=tuple(
            Word(w["word"], float(w["start"]), float(w["end"]), float(w["probability"])) for w in s.get("words", [])
        ),
        avg_logprob=float(s.get("avg_logprob", 0.0)),
        no_speech_prob=float(s.get("no_speech_prob", 0.0)),
    )


def _to_transcript(result: dict, audio: AudioClip, model: str, task: str) -> Transcript:
    segments = tuple(_segment(s) for s in result["segments"])
    language = "en" if task == "translate" else result.get("language") or "en"
    return Transcript(language=language, segments=segments, duration=audio.duration, model=model, task=task)


class _Bar:
    """Stands in for the tqdm bar inside whisper.transcribe and forwards its progress."""

    def __init__(self, progress: ProgressFn) -> None:
        self._progress, self._done = progress, 0
        self._seconds_per_frame = whisper_frame_seconds()

    def update(self, n: int) -> None:
        self._done += n
        self._progress(self._done * self._seconds_per_frame)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def whisper_frame_seconds() -> float:
    """Seconds per mel frame (whisper's hop length over its sample rate)."""
    import whisper.audio

    return whisper.audio.HOP_LENGTH / SAMPLE_RATE


@contextlib.contextmanager
def _progress_hook(progress: ProgressFn | None) -> Iterator[None]:
    # whisper.transcribe reports progress only through a tqdm bar it creates itself, so the
    # module's tqdm reference is swapped for the duration of one call.
    if progress is None:
        yield
        return
    wt: Any = importlib.import_module("whisper.transcribe")  # the package re-exports a function of that name
    original = wt.tqdm
    report: ProgressFn = progress

    class _Shim:
        @staticmethod
        def tqdm(*, total: int, **_: object) -> _Bar:
            return _Bar(report)

    wt.tqdm = _Shim
    try:
        yield
    finally:
        wt.tqdm = original
