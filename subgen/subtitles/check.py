"""Lint subtitle cues against a preset's readability limits: violations per rule and the conformance rate.

Rules, by their stable ids (``subgen check --json`` uses them):

- ``line-length``: a line has more than ``max_chars`` reading characters (CJK languages count characters the
  same way; ``CueOptions.for_language`` lowers the limit to 16).
- ``line-count``: more than ``max_lines`` non-blank lines.
- ``reading-speed``: more than ``max_cps`` reading characters per second, or more than ``max_wpm`` words per
  minute (bbc).
- ``min-duration`` / ``max-duration``: the cue is shown shorter than ``min_duration`` or longer than
  ``max_duration``.
- ``min-gap``: the next cue starts less than ``CueOptions.gap`` (2 frames at ``fps``) after this one ends.
- ``overlap``: the next cue starts before this one ends.
- ``empty``: the cue has no visible text.

Times compare in whole milliseconds, the resolution of srt and vtt: each limit is rounded to the nearest
millisecond, so a cue written exactly at a limit passes (2 frames at 23.976 fps is 83.4 ms, written 83 ms) and one
a millisecond past it fails. Gaps and overlaps count against the earlier cue of each pair, in start order.
A cue conforms when it breaks no rule; conformance is the share of conforming cues (1.0 for a file without cues).
``close_gap`` shapes how cues are made, so it is no rule: gaps above the minimum but within ``close_gap`` are
reported as ``open_gaps``, for information.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from subgen.core.errors import InputError
from subgen.core.languages import LANGUAGE_CODES
from subgen.core.options import CueOptions
from subgen.core.paths import split_language_suffix
from subgen.core.types import Cue
from subgen.subtitles.io import read_cues
from subgen.subtitles.readability import characters_per_second, reading_chars, words_per_minute

RULES = ("line-length", "line-count", "reading-speed", "min-duration", "max-duration", "min-gap", "overlap", "empty")
CHECK_EXTENSIONS = (".srt", ".vtt", ".json")
FOLDER_EXTENSIONS = (".srt", ".vtt")
# Reading speeds are ratios of floats: 21 characters in 1.4 s come out at 15.000000000000002 per second.
SPEED_TOLERANCE = 1e-9


@dataclass(frozen=True)
class CheckResult:
    """Violations of one file (or a total): cue count, cues without violations, counts per rule id."""

    cues: int
    clean: int
    violations: dict[str, int]
    open_gaps: int = 0

    @property
    def conformance(self) -> float:
        """The share of cues that break no rule (1.0 without cues)."""
        return self.clean / self.cues if self.cues else 1.0

    def to_dict(self) -> dict:
        """JSON-ready form, as ``subgen check --json`` prints it."""
        return {
            "cues": self.cues,
            "clean": self.clean,
            "conformance": self.conformance,
            "violations": dict(self.violations),
            "open_gaps": self.open_gaps,
        }


@dataclass(frozen=True)
class FileCheck:
    """One checked file, the language its limits were adapted to, the limits and the result."""

    path: Path
    language: str | None
    options: CueOptions
    result: CheckResult

    def to_dict(self) -> dict:
        """JSON-ready form: the file, its language, the limits checked and the result."""
        o = self.options
        limits = {
            "max_chars": o.max_chars,
            "max_lines": o.max_lines,
            "max_cps": o.max_cps,
            "max_wpm": o.max_wpm,
            "min_duration": round(o.min_duration, 3),
            "max_duration": o.max_duration,
            "min_gap": round(o.gap, 3),
        }
        return {"path": str(self.path), "language": self.language, **self.result.to_dict(), "limits": limits}


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _exceeds(value: float, limit: float | None) -> bool:
    return limit is not None and value > limit * (1 + SPEED_TOLERANCE)


def _own_violations(cue: Cue, options: CueOptions) -> Iterator[str]:
    lines = [line for line in cue.lines if line.strip()]
    duration_ms = _ms(cue.end) - _ms(cue.start)
    if any(reading_chars([line]) > options.max_chars for line in lines):
        yield "line-length"
    if len(lines) > options.max_lines:
        yield "line-count"
    duration = duration_ms / 1000
    if _exceeds(characters_per_second(lines, duration), options.max_cps) or _exceeds(
        words_per_minute(lines, duration), options.max_wpm
    ):
        yield "reading-speed"
    if duration_ms < _ms(options.min_duration):
        yield "min-duration"
    if duration_ms > _ms(options.max_duration):
        yield "max-duration"
    if not lines:
        yield "empty"


def _neighbours(cues: Sequence[Cue]) -> Iterator[tuple[int, int]]:
    """Index pairs (earlier, next) of consecutive cues in start order."""
    order = sorted(range(len(cues)), key=lambda i: (_ms(cues[i].start), _ms(cues[i].end)))
    return pairwise(order)


def cue_violations(cues: Sequence[Cue], options: CueOptions) -> list[frozenset[str]]:
    """The rule ids each cue breaks, in the order given."""
    found = [set(_own_violations(cue, options)) for cue in cues]
    min_gap = _ms(options.gap)
    for earlier, later in _neighbours(cues):
        gap = _ms(cues[later].start) - _ms(cues[earlier].end)
        if gap < 0:
            found[earlier].add("overlap")
        elif gap < min_gap:
            found[earlier].add("min-gap")
    return [frozenset(rules) for rules in found]


def _open_gaps(cues: Sequence[Cue], options: CueOptions) -> int:
    low, high = _ms(options.gap), _ms(options.close_gap)
    gaps = (_ms(cues[later].start) - _ms(cues[earlier].end) for earlier, later in _neighbours(cues))
    return sum(1 for gap in gaps if low < gap <= high)


def check_cues(cues: Sequence[Cue], options: CueOptions) -> CheckResult:
    """Count each rule's violations and the cues without any."""
    per_cue = cue_violations(cues, options)
    return CheckResult(
        cues=len(cues),
        clean=sum(1 for rules in per_cue if not rules),
        violations={rule: sum(1 for rules in per_cue if rule in rules) for rule in RULES},
        open_gaps=_open_gaps(cues, options),
    )


def total(results: Sequence[CheckResult]) -> CheckResult:
    """The sum of several files' results (conformance over all their cues)."""
    return CheckResult(
        cues=sum(r.cues for r in results),
        clean=sum(r.clean for r in results),
        violations={rule: sum(r.violations[rule] for r in results) for rule in RULES},
        open_gaps=sum(r.open_gaps for r in results),
    )


def subtitle_files(paths: Sequence[Path]) -> list[Path]:
    """The files to check: each given file (srt, vtt, subgen json), and the srt and vtt files under each folder."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            inside = [
                p
                for p in sorted(path.rglob("*"))
                if p.suffix.lower() in FOLDER_EXTENSIONS and p.is_file() and not p.name.startswith(".")
            ]
            if not inside:
                raise InputError(f"{path}: no .srt or .vtt files in this folder; pass subtitle files or another folder")
            found.update(dict.fromkeys(inside))
        elif path.is_file():
            if path.suffix.lower() not in CHECK_EXTENSIONS:
                raise InputError(f"{path}: not a subtitle file; pass .srt, .vtt or subgen .json files or folders")
            found[path] = None
        else:
            raise InputError(f"{path}: no such file or folder; check the path")
    return list(found)


def check_file(path: Path, options: CueOptions, language: str | None = None) -> FileCheck:
    """Lint one file; the language (``language``, else from ``<stem>.<lang>.<ext>``) adapts the limits."""
    # Imported here: writers imports cues, which imports this module.

    lang = language or split_language_suffix(path.name)[1]
    adapted = options.for_language(lang)
    return FileCheck(path, lang, adapted, check_cues(read_cues(path), adapted))


def check_paths(paths: Sequence[Path], options: CueOptions, language: str | None = None) -> list[FileCheck]:
    """Lint every subtitle file the paths name or contain."""
    if language is not None and language not in LANGUAGE_CODES:
        raise InputError(f"--language '{language}' is not a Whisper language code (e.g. en, de, zh, ja)")
    return [check_file(path, options, language) for path in subtitle_files(paths)]
