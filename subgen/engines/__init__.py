"""Engine registry; backends are imported only when one is loaded."""

from __future__ import annotations

from subgen.engines.base import Engine
from subgen.errors import EngineError
from subgen.models import ModelSource

ENGINES = ("openai-whisper",)


def load_engine(name: str, source: ModelSource, device: str) -> Engine:
    """Load ``source`` with the named backend (heavy imports happen here)."""
    if name == "openai-whisper":
        from subgen.engines.openai_whisper import OpenAIWhisperEngine

        return OpenAIWhisperEngine(source, device)
    raise EngineError(f"unknown engine '{name}'; choose from {', '.join(ENGINES)}")
