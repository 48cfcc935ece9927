"""Compare hypotheses with references: WER and CER with error counts (jiwer), and cue timing errors.

Timing metrics, computed when both files carry timings (srt, vtt or subgen json):

- Each hypothesis cue belongs to the reference cue it overlaps longest (touching does not count; ties go to
  the earlier one), so a cue that lingers a moment into the next utterance still counts for its own. A
  reference cue's start error is the earliest start of its hypothesis cues minus the reference start, its end
  error the latest end minus the reference end. A reference cue that no hypothesis cue belongs to is missed.
- Reported: the median and 90th percentile (linear interpolation between ranks, numpy's default) of the
  absolute start and end errors, and the matched and missed reference cue counts.
- Cues in gaps: hypothesis cues lying entirely inside a stretch longer than ``GAP_SECONDS`` that no reference
  cue covers: between reference cues, before the first (from 0 s) and after the last (up to the end of the
  last hypothesis cue, as the media length is unknown). These are text where the reference has none.
- Corpus totals pool the errors of all files before taking the median and percentile.
"""

from __future__ import annotations

import bisect
import functools
import html
import importlib.util
import json
import re
import sys
from collections.abc import Sequence
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


SUBTITLE_EXTENSIONS = (".srt", ".vtt", ".json", ".txt")
TIMED_EXTENSIONS = (".srt", ".vtt", ".json")
GAP_SECONDS = 5.0


@dataclass(frozen=True)
class TimedText:
    """One cue of a subtitle file: its span in seconds and its text (lines joined by newlines, markup removed)."""

    start: float
    end: float
    text: str

    @property
    def lines(self) -> tuple[str, ...]:
        """The cue's lines."""
        return tuple(self.text.split("\n"))


@dataclass(frozen=True)
class TimingErrors:
    """Cue timing of a hypothesis against a reference; errors in seconds, hypothesis minus reference."""

    start_errors: tuple[float, ...]
    end_errors: tuple[float, ...]
    missed: int
    cues_in_gaps: int
    hypothesis_cues: int

    @property
    def matched(self) -> int:
        """Reference cues that some hypothesis cue overlaps."""
        return len(self.start_errors)

    @property
    def reference_cues(self) -> int:
        """Non-empty reference cues, matched or missed."""
        return self.matched + self.missed

    def start_error(self, quantile: float) -> float | None:
        """The given quantile of the absolute start errors (None when no cue matched)."""
        return percentile([abs(e) for e in self.start_errors], quantile)

    def end_error(self, quantile: float) -> float | None:
        """The given quantile of the absolute end errors (None when no cue matched)."""
        return percentile([abs(e) for e in self.end_errors], quantile)

    def to_dict(self) -> dict:
        """JSON-ready form (seconds rounded to milliseconds), as ``subgen eval --json`` prints it."""
        return {
            "reference_cues": self.reference_cues,
            "matched": self.matched,
            "missed": self.missed,
            "start_error_median": _rounded(self.start_error(0.5)),
            "start_error_p90": _rounded(self.start_error(0.9)),
            "end_error_median": _rounded(self.end_error(0.5)),
            "end_error_p90": _rounded(self.end_error(0.9)),
            "hypothesis_cues": self.hypothesis_cues,
            "cues_in_gaps": self.cues_in_gaps,
        }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


@dataclass(frozen=True)
class FileScore:
    """One reference/hypothesis pair, its error rates and, when both have timings, its timing errors."""

    key: str
    reference: Path
    hypothesis: Path
    language: str
    rates: ErrorRates
    timing: TimingErrors | None = None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"{path}: cannot read ({exc}); pass a UTF-8 srt, vtt, json or txt file") from exc


def read_text(path: Path) -> str:
    """The spoken text of a subtitle or transcript file (srt, vtt, subgen json, txt)."""
    raw = _read(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _json_text(path, raw)
    if suffix in (".srt", ".vtt"):
        return _cue_text(raw)
    return raw


def _json_data(path: Path, raw: str) -> dict:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise EvaluationError(f"{path}: not valid JSON ({exc.msg}); pass subgen's --format json output") from exc
    if isinstance(data, dict) and isinstance(data.get("segments"), list):
        return data
    raise EvaluationError(f"{path}: JSON without 'segments'; pass subgen's --format json output")


def _json_text(path: Path, raw: str) -> str:
    return " ".join(s.get("text", "") for s in _json_data(path, raw)["segments"])


_TIMING = re.compile(r"\d+:\d+[:.,]\d+.*-->")


def _cue_text(raw: str) -> str:
    lines = []
    for line in raw.splitlines():
        line = line.strip()
        if not line or line.isdigit() or line == "WEBVTT" or _TIMING.search(line) or line.startswith("NOTE"):
            continue
        lines.append(re.sub(r"<[^>]+>", "", html.unescape(line)) if "<" in line or "&" in line else line)
    return " ".join(lines)


def has_timings(path: Path) -> bool:
    """Whether the file's format carries cue times (srt, vtt, json)."""
    return path.suffix.lower() in TIMED_EXTENSIONS


def read_timed(path: Path) -> tuple[TimedText, ...]:
    """The cues of an srt, vtt or subgen json file (its ``cues``, else its ``segments``), in file order."""
    suffix = path.suffix.lower()
    readers = {".srt": _srt_cues, ".vtt": _vtt_cues, ".json": _json_cues}
    if suffix not in readers:
        raise EvaluationError(f"{path}: a {suffix or 'extensionless'} file has no cue times; pass srt, vtt or json")
    return readers[suffix](path, _read(path))


_MARKUP = re.compile(r"<[^>]*>|\{\\[^}]*\}")


def _plain(line: str) -> str:
    return _MARKUP.sub("", line).strip()


def _srt_cues(path: Path, raw: str) -> tuple[TimedText, ...]:
    import pysrt

    try:
        items = pysrt.SubRipFile.from_string(raw, error_handling=pysrt.SubRipFile.ERROR_RAISE)
    except pysrt.Error as exc:
        where = exc.args[0] if exc.args else "?"
        raise EvaluationError(f"{path}: not valid SubRip (cue ending at line {where}); fix that cue") from exc
    return tuple(
        TimedText(i.start.ordinal / 1000, i.end.ordinal / 1000, "\n".join(_plain(x) for x in i.text.split("\n")))
        for i in items
    )


_VTT_TIME = r"(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})"
_VTT_TIMING = re.compile(rf"{_VTT_TIME}\s+-->\s+{_VTT_TIME}(?:\s|$)")


def _vtt_seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return (int(hours or 0) * 3_600_000 + int(minutes) * 60_000 + int(seconds) * 1000 + int(millis)) / 1000


def _vtt_cues(path: Path, raw: str) -> tuple[TimedText, ...]:
    blocks = re.split(r"\n[ \t]*\n", raw.replace("\r\n", "\n").replace("\r", "\n").strip())
    if not blocks[0].startswith("WEBVTT"):
        raise EvaluationError(f"{path}: a WebVTT file starts with 'WEBVTT'; fix the header or rename it .srt")
    cues = []
    for block in blocks[1:]:
        lines = block.split("\n")
        at = next((n for n, line in enumerate(lines) if "-->" in line), None)
        if at is None or lines[0].startswith("NOTE"):
            continue
        match = _VTT_TIMING.match(lines[at].strip())
        if match is None or at > 1:
            raise EvaluationError(f"{path}: bad WebVTT cue timing '{lines[at].strip()}'; use hh:mm:ss.mmm --> ...")
        start, end = _vtt_seconds(*match.groups()[:4]), _vtt_seconds(*match.groups()[4:])
        text = "\n".join(html.unescape(_plain(line)) for line in lines[at + 1 :])
        cues.append(TimedText(start, end, text))
    return tuple(cues)


def _json_cues(path: Path, raw: str) -> tuple[TimedText, ...]:
    data = _json_data(path, raw)
    try:
        if isinstance(data.get("cues"), list):
            return tuple(TimedText(float(c["start"]), float(c["end"]), "\n".join(c["lines"])) for c in data["cues"])
        return tuple(TimedText(float(s["start"]), float(s["end"]), s["text"].strip()) for s in data["segments"])
    except (KeyError, TypeError, ValueError) as exc:
        raise EvaluationError(f"{path}: a cue or segment lacks start, end or text ({exc}); pass subgen json") from exc


def percentile(values: Sequence[float], quantile: float) -> float | None:
    """The ``quantile`` (0..1) of ``values`` by linear interpolation between ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = quantile * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _spoken(cues: Sequence[TimedText]) -> list[TimedText]:
    return sorted((c for c in cues if c.text.strip()), key=lambda c: (c.start, c.end))


def timing_errors(reference: Sequence[TimedText], hypothesis: Sequence[TimedText]) -> TimingErrors:
    """Start/end errors of each reference cue, missed cues and hypothesis cues in long reference gaps."""
    refs, hyps = _spoken(reference), _spoken(hypothesis)
    owned: dict[int, list[TimedText]] = {}
    starts = [r.start for r in refs]
    longest = max((r.end - r.start for r in refs), default=0.0)
    for hyp in hyps:
        owner = _owner(refs, starts, longest, hyp)
        if owner is not None:
            owned.setdefault(owner, []).append(hyp)
    start_errors, end_errors = [], []
    for index, ref in enumerate(refs):
        if index in owned:
            start_errors.append(min(h.start for h in owned[index]) - ref.start)
            end_errors.append(max(h.end for h in owned[index]) - ref.end)
    return TimingErrors(
        start_errors=tuple(start_errors),
        end_errors=tuple(end_errors),
        missed=len(refs) - len(start_errors),
        cues_in_gaps=cues_in_gaps(refs, hyps),
        hypothesis_cues=len(hyps),
    )


def _owner(refs: Sequence[TimedText], starts: list[float], longest: float, hyp: TimedText) -> int | None:
    """Index of the reference cue (sorted by ``starts``) that ``hyp`` overlaps longest, or None."""
    best, best_overlap = None, 0.0
    # Only cues starting within `longest` before the hypothesis, and before its end, can overlap it.
    for index in range(bisect.bisect_left(starts, hyp.start - longest), bisect.bisect_left(starts, hyp.end)):
        overlap = min(hyp.end, refs[index].end) - max(hyp.start, refs[index].start)
        if overlap > best_overlap:
            best, best_overlap = index, overlap
    return best


def reference_gaps(reference: Sequence[TimedText], until: float) -> list[tuple[float, float]]:
    """Stretches from 0 s to ``until`` that no reference cue covers, as (start, end) pairs."""
    gaps, covered = [], 0.0
    for ref in sorted(reference, key=lambda c: c.start):
        if ref.start > covered:
            gaps.append((covered, ref.start))
        covered = max(covered, ref.end)
    if until > covered:
        gaps.append((covered, until))
    return gaps


def cues_in_gaps(
    reference: Sequence[TimedText], hypothesis: Sequence[TimedText], longer_than: float = GAP_SECONDS
) -> int:
    """Hypothesis cues lying entirely inside a reference gap longer than ``longer_than`` seconds."""
    until = max((h.end for h in hypothesis), default=0.0)
    # Lengths compare in whole milliseconds, the resolution of srt and vtt times.
    gaps = [(a, b) for a, b in reference_gaps(reference, until) if round((b - a) * 1000) > round(longer_than * 1000)]
    return sum(1 for h in hypothesis if any(a <= h.start and h.end <= b for a, b in gaps))


def pool_timing(timings: Sequence[TimingErrors]) -> TimingErrors | None:
    """All files' timing errors pooled into one, so totals are medians over every cue; None when there are none."""
    if not timings:
        return None
    return TimingErrors(
        start_errors=tuple(e for t in timings for e in t.start_errors),
        end_errors=tuple(e for t in timings for e in t.end_errors),
        missed=sum(t.missed for t in timings),
        cues_in_gaps=sum(t.cues_in_gaps for t in timings),
        hypothesis_cues=sum(t.hypothesis_cues for t in timings),
    )


def match_key(path: Path) -> tuple[str, str | None]:
    """A file's stem without extension and without a trailing language code (``talk.en.srt`` -> ``talk``, ``en``)."""
    # Imported here: writers imports cues, which uses subgen.check, which reads files through this module.
    from subgen.writers import split_language_suffix

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
        timing = timing_errors(read_timed(ref), read_timed(hyp)) if has_timings(ref) and has_timings(hyp) else None
        scores.append(FileScore(key, ref, hyp, lang, rates, timing))
    return scores


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
