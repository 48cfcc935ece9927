"""Engine registry; backends are imported only when one is loaded."""

from __future__ import annotations

import importlib.util

from subgen.asr.engines.base import Engine
from subgen.asr.models import ModelSource
from subgen.core.errors import EngineError
from subgen.core.options import TranscribeOptions

ENGINES = ("faster-whisper", "openai-whisper")


def pick_engine(name: str, source: ModelSource) -> str:
    """The backend ``--engine`` means: ``auto`` is faster-whisper (CTranslate2), the fastest on CPU in
    benchmarks/speed.py at the same quality (GPU timings are still to be taken), unless the model is an
    openai-whisper ``.pt`` file or faster-whisper is not installed."""
    if name != "auto":
        if name not in ENGINES:
            raise EngineError(f"unknown engine '{name}'; choose from auto, {', '.join(ENGINES)}")
        return name
    if source.kind == "openai-pt" or importlib.util.find_spec("faster_whisper") is None:
        return "openai-whisper"
    return "faster-whisper"


def gpu_visible(name: str) -> bool:
    """Whether the backend ``name`` can use a CUDA GPU here (imports its runtime)."""
    if name == "faster-whisper":
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    import torch

    return torch.cuda.is_available()


def load_engine(
    name: str, source: ModelSource, device: str, batch_size: int | None = None, workers: int | None = None
) -> Engine:
    """Load ``source`` with the named backend (heavy imports happen here); ``workers`` is for faster-whisper."""
    name = pick_engine(name, source)
    if name == "faster-whisper":
        from subgen.asr.engines.faster_whisper import FasterWhisperEngine

        return FasterWhisperEngine(source, device, batch_size, workers)
    from subgen.asr.engines.openai_whisper import OpenAIWhisperEngine

    return OpenAIWhisperEngine(source, device, batch_size)


def engine_for(options: TranscribeOptions, source: ModelSource) -> Engine:
    """The engine ``options`` ask for. Without VAD a clip is decoded in one sequential stream, which parallel
    CPU decoders cannot share, so it gets a single decoder with every core."""
    workers = None if options.vad else 1
    return load_engine(options.engine, source, options.device, options.batch_size, workers)
