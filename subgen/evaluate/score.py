"""Score subtitle files against references: pair files by name, then error rates and cue timing per pair."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from subgen.core.errors import EvaluationError
from subgen.core.paths import split_language_suffix
from subgen.evaluate.continuity import Continuity, continuity, pool_continuity
from subgen.evaluate.rates import ErrorRates, error_rates
from subgen.evaluate.timing import TimingErrors, pool_timing, timing_errors
from subgen.subtitles.io import SUBTITLE_EXTENSIONS, has_timings, read_cues, read_text


@dataclass(frozen=True)
class FileScore:
    """One reference/hypothesis pair, its error rates and, when both have timings, its timing and continuity."""

    key: str
    reference: Path
    hypothesis: Path
    language: str
    rates: ErrorRates
    timing: TimingErrors | None = None
    continuity: Continuity | None = None


def match_key(path: Path) -> tuple[str, str | None]:
    """A file's stem without extension and without a trailing language code (``talk.en.srt`` -> ``talk``, ``en``)."""
    stem, language, _ = split_language_suffix(path.name)
    return stem, language


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
    """WER/CER (and timing when both files have times) for every pair; language: argument, hypothesis name, en."""
    scores = []
    for key, ref, hyp, name_lang in pair_files(reference, hypothesis):
        lang = language or name_lang or "en"
        rates = error_rates([read_text(ref)], [read_text(hyp)], lang)
        if has_timings(ref) and has_timings(hyp):
            ref_cues, hyp_cues = read_cues(ref), read_cues(hyp)
            timed = timing_errors(ref_cues, hyp_cues), continuity(ref_cues, hyp_cues, lang)
            scores.append(FileScore(key, ref, hyp, lang, rates, *timed))
        else:
            scores.append(FileScore(key, ref, hyp, lang, rates))
    return scores


def corpus_continuity(scores: Sequence[FileScore]) -> Continuity | None:
    """Lost utterances, repeated text and displaced words summed over the pairs that have timings."""
    return pool_continuity([s.continuity for s in scores if s.continuity is not None])


def corpus_timing(scores: Sequence[FileScore]) -> TimingErrors | None:
    """Timing errors pooled over the pairs that have them; None when no pair has timings."""
    return pool_timing([s.timing for s in scores if s.timing is not None])


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
