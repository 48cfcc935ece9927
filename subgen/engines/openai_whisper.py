"""openai-whisper (PyTorch) engine: word timestamps, fp16 on CUDA, fp32 on CPU."""

from __future__ import annotations

import contextlib
import importlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from subgen import models
from subgen.config import TranscribeOptions
from subgen.engines.base import ProgressFn, Segment, Transcript, Word
from subgen.errors import EngineError, ModelNotAvailable
from subgen.media import SAMPLE_RATE, AudioClip

log = logging.getLogger(__name__)


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without one is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise EngineError("--device cuda: torch sees no CUDA GPU; use --device cpu or install a CUDA build of torch")
    return device


def _load_checkpoint(path: Path, device: str) -> Any:
    import torch
    import whisper

    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    model = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"])
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


class OpenAIWhisperEngine:
    """A loaded openai-whisper model."""

    name = "openai-whisper"

    def __init__(self, source: models.ModelSource, device: str = "auto") -> None:
        self.model_name = source.name
        self.device = resolve_device(device)
        self.source = source
        log.info("loading %s on %s", source.name, self.device)
        if source.kind == "openai-name":
            self._model = _load_named(source.name, self.device)
        else:
            path = models.openai_checkpoint_path(source) if source.kind == "ct2" else source.path
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


def _to_transcript(result: dict, audio: AudioClip, model: str, task: str) -> Transcript:
    segments = tuple(
        Segment(
            start=float(s["start"]),
            end=float(s["end"]),
            text=s["text"],
            words=tuple(
                Word(w["word"], float(w["start"]), float(w["end"]), float(w["probability"])) for w in s.get("words", [])
            ),
            avg_logprob=float(s.get("avg_logprob", 0.0)),
            no_speech_prob=float(s.get("no_speech_prob", 0.0)),
        )
        for s in result["segments"]
    )
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
    wt = importlib.import_module("whisper.transcribe")  # the package re-exports a function of that name
    original = wt.tqdm

    class _Shim:
        @staticmethod
        def tqdm(*, total: int, **_: object) -> _Bar:
            return _Bar(progress)

    wt.tqdm = _Shim
    try:
        yield
    finally:
        wt.tqdm = original
