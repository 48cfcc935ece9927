"""Read subtitle files back: SRT, WebVTT, ASS/SSA and subgen JSON into ``Cue``s, and any of them (or txt) as text.

One reader serves ``subgen check`` (which must see empty cues to report them), ``subgen eval`` and the video
step (which shows only cues with visible text, see ``visible``). SRT is parsed strictly (pysrt), WebVTT by its
timing lines, ASS and SSA with pysubs2, subgen JSON from its ``cues`` (else its ``segments``).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path

from subgen.core.errors import SubtitleFileError
from subgen.core.types import Cue

SUBTITLE_EXTENSIONS = (".srt", ".vtt", ".ass", ".ssa", ".json", ".txt")
TIMED_EXTENSIONS = (".srt", ".vtt", ".ass", ".ssa", ".json")
_MARKUP = re.compile(r"<[^>]*>|\{\\[^}]*\}")
_TIMING = re.compile(r"\d+:\d+[:.,]\d+.*-->")
_VTT_TIME = r"(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})"
_VTT_TIMING = re.compile(rf"{_VTT_TIME}\s+-->\s+{_VTT_TIME}(?:\s|$)")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubtitleFileError(f"{path}: cannot read ({exc}); pass a UTF-8 srt, vtt, ass, json or txt file") from exc


def has_timings(path: Path) -> bool:
    """Whether the file's format carries cue times (srt, vtt, ass, ssa, json)."""
    return path.suffix.lower() in TIMED_EXTENSIONS


def read_cues(path: Path) -> tuple[Cue, ...]:
    """The cues of a subtitle file in file order, markup removed; a cue without visible text is kept."""
    suffix = path.suffix.lower()
    readers = {".srt": _srt_cues, ".vtt": _vtt_cues, ".json": _json_cues, ".ass": _ass_cues, ".ssa": _ass_cues}
    if suffix not in readers:
        raise SubtitleFileError(
            f"{path}: a {suffix or 'extensionless'} file has no cue times; pass srt, vtt, ass or subgen json"
        )
    if not path.is_file():
        raise SubtitleFileError(f"{path}: subtitle file not found; check the path")
    return readers[suffix](path, _read(path))


def visible(cues: Sequence[Cue]) -> tuple[Cue, ...]:
    """The cues that show text, with blank lines dropped (what a player or burn-in draws)."""
    kept = (Cue(c.start, c.end, tuple(line for line in c.lines if line.strip())) for c in cues)
    return tuple(c for c in kept if c.lines)


def read_text(path: Path) -> str:
    """The spoken text of a subtitle or transcript file (srt, vtt, ass, subgen json, txt)."""
    suffix = path.suffix.lower()
    if suffix in (".ass", ".ssa"):
        return " ".join(" ".join(c.lines) for c in read_cues(path))
    raw = _read(path)
    if suffix == ".json":
        return " ".join(s.get("text", "") for s in _json_data(path, raw)["segments"])
    if suffix in (".srt", ".vtt"):
        return _cue_text(raw)
    return raw


def _cue_text(raw: str) -> str:
    """Every text line of an srt or vtt file, tolerant of broken numbering and timings."""
    lines = []
    for line in raw.splitlines():
        line = line.strip()
        if not line or line.isdigit() or line == "WEBVTT" or _TIMING.search(line) or line.startswith("NOTE"):
            continue
        lines.append(re.sub(r"<[^>]+>", "", html.unescape(line)) if "<" in line or "&" in line else line)
    return " ".join(lines)


def _plain(line: str) -> str:
    return _MARKUP.sub("", line).strip()


def _srt_cues(path: Path, raw: str) -> tuple[Cue, ...]:
    import pysrt

    try:
        items = pysrt.SubRipFile.from_string(raw, error_handling=pysrt.SubRipFile.ERROR_RAISE)
    except pysrt.Error as exc:
        where = exc.args[0] if exc.args else "?"
        raise SubtitleFileError(f"{path}: not valid SubRip (cue ending at line {where}); fix that cue") from exc
    return tuple(
        Cue(i.start.ordinal / 1000, i.end.ordinal / 1000, tuple(_plain(x) for x in i.text.split("\n"))) for i in items
    )


def _vtt_seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return (int(hours or 0) * 3_600_000 + int(minutes) * 60_000 + int(seconds) * 1000 + int(millis)) / 1000


def _vtt_cues(path: Path, raw: str) -> tuple[Cue, ...]:
    blocks = re.split(r"\n[ \t]*\n", raw.replace("\r\n", "\n").replace("\r", "\n").strip())
    if not blocks[0].startswith("WEBVTT"):
        raise SubtitleFileError(f"{path}: a WebVTT file starts with 'WEBVTT'; fix the header or rename it .srt")
    cues = []
    for block in blocks[1:]:
        lines = block.split("\n")
        at = next((n for n, line in enumerate(lines) if "-->" in line), None)
        if at is None or lines[0].startswith("NOTE"):
            continue
        match = _VTT_TIMING.match(lines[at].strip())
        if match is None or at > 1:
            raise SubtitleFileError(f"{path}: bad WebVTT cue timing '{lines[at].strip()}'; use hh:mm:ss.mmm --> ...")
        start, end = _vtt_seconds(*match.groups()[:4]), _vtt_seconds(*match.groups()[4:])
        cues.append(Cue(start, end, tuple(html.unescape(_plain(line)) for line in lines[at + 1 :])))
    return tuple(cues)


def _ass_cues(path: Path, raw: str) -> tuple[Cue, ...]:
    import pysubs2

    if "[events]" not in raw.lower():
        raise SubtitleFileError(f"{path}: not a valid ASS/SSA script (no [Events] section); fix or re-export it")
    try:
        events = pysubs2.SSAFile.from_string(raw, format_=path.suffix.lower().lstrip("."))
    except (pysubs2.Pysubs2Error, ValueError) as exc:
        raise SubtitleFileError(f"{path}: not a valid ASS/SSA script ({exc}); fix or re-export it") from exc
    dialogue = sorted((e for e in events if not e.is_comment), key=lambda e: (e.start, e.end))
    return tuple(Cue(e.start / 1000, e.end / 1000, _lines(e.plaintext)) for e in dialogue)


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.split("\n"))


def _json_data(path: Path, raw: str) -> dict:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SubtitleFileError(f"{path}: not valid JSON ({exc.msg}); pass subgen's --format json output") from exc
    if isinstance(data, dict) and isinstance(data.get("segments"), list):
        return data
    raise SubtitleFileError(f"{path}: JSON without 'segments'; pass subgen's --format json output")


def _json_cues(path: Path, raw: str) -> tuple[Cue, ...]:
    data = _json_data(path, raw)
    try:
        if isinstance(data.get("cues"), list):
            return tuple(Cue(float(c["start"]), float(c["end"]), tuple(c["lines"])) for c in data["cues"])
        return tuple(Cue(float(s["start"]), float(s["end"]), (s["text"].strip(),)) for s in data["segments"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SubtitleFileError(f"{path}: a cue or segment lacks start, end or text ({exc}); pass subgen json") from exc
