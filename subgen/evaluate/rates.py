"""Word and character error rates with their edit counts (jiwer), after Whisper's text normalizers."""

from __future__ import annotations

import functools
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subgen.core.errors import EvaluationError


@dataclass(frozen=True)
class ErrorRates:
    """Word and character error rates with their edit counts."""

    wer: float
    cer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int
    reference_chars: int = 0


@functools.cache
def _normalizers_module() -> Any:
    # whisper.normalizers needs only regex and its JSON spelling table, but importing it through
    # the whisper package would load torch; load that sub-package from its files on its own.
    spec = importlib.util.find_spec("whisper")
    if spec is None or not spec.submodule_search_locations:
        raise EvaluationError("openai-whisper is not installed; pip install openai-whisper")
    folder = Path(next(iter(spec.submodule_search_locations))) / "normalizers"
    name = "_subgen_whisper_normalizers"
    sub = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
    if sub is None or sub.loader is None:
        raise EvaluationError(f"{folder}: whisper's normalizers cannot be loaded; reinstall openai-whisper")
    module = importlib.util.module_from_spec(sub)
    sys.modules[name] = module
    sub.loader.exec_module(module)
    return module


@functools.cache
def _normalizer(language: str) -> Any:
    module = _normalizers_module()
    return module.EnglishTextNormalizer() if language == "en" else module.BasicTextNormalizer()


def normalize(text: str, language: str = "en") -> str:
    """Whisper's English normalizer for ``en``, its basic normalizer otherwise."""
    return " ".join(_normalizer(language)(text).split())


def error_rates(references: list[str], hypotheses: list[str], language: str = "en") -> ErrorRates:
    """Corpus-level WER/CER over aligned reference/hypothesis pairs, after normalization."""
    import jiwer

    refs = [normalize(r, language) for r in references]
    hyps = [normalize(h, language) for h in hypotheses]
    pairs = [(r, h) for r, h in zip(refs, hyps, strict=True) if r]
    words = jiwer.process_words([r for r, _ in pairs], [h or "" for _, h in pairs])
    chars = jiwer.process_characters([r for r, _ in pairs], [h or "" for _, h in pairs])
    return ErrorRates(
        wer=words.wer,
        cer=chars.cer,
        substitutions=words.substitutions,
        deletions=words.deletions,
        insertions=words.insertions,
        reference_words=sum(len(r.split()) for r, _ in pairs),
        reference_chars=chars.hits + chars.substitutions + chars.deletions,
    )
