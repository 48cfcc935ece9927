"""Compare hypothesis text with references: WER and CER with error counts (jiwer)."""

from __future__ import annotations

import functools
import html
import importlib.util
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subgen.errors import EvaluationError


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
    chars = jiwer.cer([r for r, _ in pairs], [h or "" for _, h in pairs])
    return ErrorRates(
        wer=words.wer,
        cer=float(chars),
        substitutions=words.substitutions,
        deletions=words.deletions,
        insertions=words.insertions,
        reference_words=sum(len(r.split()) for r, _ in pairs),
    )


SUBTITLE_EXTENSIONS = (".srt", ".vtt", ".json", ".txt")


@dataclass(frozen=True)
class FileScore:
    """One reference/hypothesis pair and its error rates."""

    key: str
    reference: Path
    hypothesis: Path
    language: str
    rates: ErrorRates


def read_text(path: Path) -> str:
    """The spoken text of a subtitle or transcript file (srt, vtt, subgen json, txt)."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"{path}: cannot read ({exc}); pass a UTF-8 srt, vtt, json or txt file") from exc
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _json_text(path, raw)
    if suffix in (".srt", ".vtt"):
        return _cue_text(raw)
    return raw


def _json_text(path: Path, raw: str) -> str:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"{path}: not valid JSON ({exc.msg}); pass subgen's --format json output") from exc
    if isinstance(data, dict) and "segments" in data:
        return " ".join(s.get("text", "") for s in data["segments"])
    raise EvaluationError(f"{path}: JSON without 'segments'; pass subgen's --format json output")


_TIMING = re.compile(r"\d+:\d+[:.,]\d+.*-->")


def _cue_text(raw: str) -> str:
    lines = []
    for line in raw.splitlines():
        line = line.strip()
        if not line or line.isdigit() or line == "WEBVTT" or _TIMING.search(line) or line.startswith("NOTE"):
            continue
        lines.append(re.sub(r"<[^>]+>", "", html.unescape(line)) if "<" in line or "&" in line else line)
    return " ".join(lines)


def match_key(path: Path) -> tuple[str, str | None]:
    """A file's stem without extension and without a trailing language code (``talk.en.srt`` -> ``talk``, ``en``)."""
    from subgen.config import LANGUAGE_CODES

    stem = path.stem
    head, _, tail = stem.rpartition(".")
    if head and tail in LANGUAGE_CODES:
        return head, tail
    return stem, None


def pair_files(reference: Path, hypothesis: Path) -> list[tuple[str, Path, Path, str | None]]:
    """Reference/hypothesis pairs: two files, or two folders matched by stem (language suffix ignored)."""
    if reference.is_file() and hypothesis.is_file():
        key, lang = match_key(hypothesis)
        return [(key, reference, hypothesis, lang)]
    if not reference.is_dir() or not hypothesis.is_dir():
        raise EvaluationError(f"{reference} / {hypothesis}: pass two files or two folders that exist")
    refs = {match_key(p)[0]: p for p in sorted(reference.rglob("*")) if p.suffix.lower() in SUBTITLE_EXTENSIONS}
    pairs = []
    for hyp in sorted(hypothesis.rglob("*")):
        key, lang = match_key(hyp)
        if hyp.suffix.lower() in SUBTITLE_EXTENSIONS and key in refs and refs[key] != hyp:
            pairs.append((key, refs[key], hyp, lang))
    if not pairs:
        raise EvaluationError(f"{hypothesis}: no file matches a reference in {reference} by name")
    return pairs


def score(reference: Path, hypothesis: Path, language: str | None = None) -> list[FileScore]:
    """WER/CER for every pair; the language comes from ``language``, else the hypothesis name, else English."""
    scores = []
    for key, ref, hyp, name_lang in pair_files(reference, hypothesis):
        lang = language or name_lang or "en"
        rates = error_rates([read_text(ref)], [read_text(hyp)], lang)
        scores.append(FileScore(key, ref, hyp, lang, rates))
    return scores


def corpus_rates(scores: list[FileScore]) -> ErrorRates:
    """Totals over all pairs, weighted by reference length (languages scored with their own normalizer)."""
    words = sum(s.rates.reference_words for s in scores)
    edits = sum(s.rates.substitutions + s.rates.deletions + s.rates.insertions for s in scores)
    chars = sum(s.rates.reference_chars for s in scores)
    char_edits = sum(s.rates.cer * s.rates.reference_chars for s in scores)
    return ErrorRates(
        wer=edits / words if words else 0.0,
        cer=char_edits / chars if chars else 0.0,
        substitutions=sum(s.rates.substitutions for s in scores),
        deletions=sum(s.rates.deletions for s in scores),
        insertions=sum(s.rates.insertions for s in scores),
        reference_words=words,
        reference_chars=chars,
    )
