"""Expand CLI inputs (files, folders, globs, @lists, URLs) into an ordered, deduplicated batch."""

from __future__ import annotations

import glob
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from subgen.core.errors import InputError
from subgen.core.paths import BURNED, SUBTITLED

log = logging.getLogger(__name__)

MEDIA_EXTENSIONS = frozenset(
    [
        ".mp4",
        ".mkv",
        ".mov",
        ".avi",
        ".webm",
        ".m4v",
        ".mpg",
        ".mpeg",
        ".ts",
        ".m2ts",
        ".mts",
        ".wmv",
        ".flv",
        ".3gp",
        ".ogv",
        ".vob",
        ".mp3",
        ".wav",
        ".flac",
        ".m4a",
        ".aac",
        ".ogg",
        ".oga",
        ".opus",
        ".wma",
        ".mka",
        ".aiff",
        ".aif",
    ]
)
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class MediaItem:
    """One thing to subtitle: a local file, or a URL still to be downloaded.

    ``root`` is the folder the item's path is taken relative to when ``--output-dir`` mirrors the
    input tree; ``problem`` holds why an input cannot be used (reported as a failed item).
    """

    source: str
    path: Path | None = None
    url: str | None = None
    root: Path | None = None
    problem: str | None = None

    @property
    def is_url(self) -> bool:
        """True when the item must be downloaded first."""
        return self.url is not None


def is_url(text: str) -> bool:
    """True for scheme://... strings."""
    return bool(_URL.match(text))


def is_media(path: Path) -> bool:
    """True when the extension is a known audio/video one."""
    return path.suffix.lower() in MEDIA_EXTENSIONS


def is_subtitled_copy(path: Path) -> bool:
    """True for subgen's own ``<stem>.subtitled.<ext>`` and ``<stem>.burned.<ext>`` outputs, which folder and glob
    scans leave out."""
    return path.stem.endswith(("." + SUBTITLED, "." + BURNED))


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _scan_folder(folder: Path) -> list[Path]:
    """The media files under ``folder`` (hidden entries and subgen's own ``.subtitled`` copies left out); what
    the scan cannot enter or read is logged with the reason, never skipped without a word."""

    def unreadable(error: OSError) -> None:
        log.warning("%s: folder skipped (%s); check its permissions", error.filename, error.strerror)

    found = []
    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        for name in [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            log.warning(
                "%s: linked folder not followed (it could loop); pass it as an input of its own", Path(dirpath) / name
            )
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not os.path.islink(os.path.join(dirpath, d))
        )
        for name in sorted(filenames):
            candidate = Path(dirpath) / name
            if not name.startswith(".") and is_media(candidate) and not is_subtitled_copy(candidate):
                found.append(candidate)
    return sorted(found)


def _subfolders(folder: Path, names: list[str]) -> list[str]:
    """The subfolders a scan enters, sorted: not hidden ones, and not links (logged: a link can loop)."""
    entered = []
    for name in sorted(n for n in names if not n.startswith(".")):
        if (folder / name).is_symlink():
            log.warning("%s: linked folder not followed (it could loop); pass it as an input of its own", folder / name)
        else:
            entered.append(name)
    return entered


def _read_list(list_file: Path) -> list[str]:
    try:
        lines = list_file.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise InputError(f"{list_file}: cannot read list file ({exc.strerror}); check the @path") from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{list_file}: not a text list (byte {exc.start} is not UTF-8); write one path or URL per line as UTF-8"
        ) from exc
    entries = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not is_url(line) and not Path(line).expanduser().is_absolute():
            line = str(list_file.parent / line)
        entries.append(line)
    return entries


def _expand_one(arg: str) -> list[MediaItem]:
    if is_url(arg):
        return [MediaItem(source=arg, url=arg)]
    path = Path(arg).expanduser()
    if path.is_dir():
        files = _scan_folder(path)
        if not files:
            log.warning("%s: folder holds no media files", path)
        return [MediaItem(source=str(f), path=f, root=path) for f in files]
    if path.exists():
        return [MediaItem(source=arg, path=path, root=path.parent)]
    if _GLOB_CHARS.search(arg):
        files = [
            m
            for m in sorted(Path(p) for p in glob.glob(arg, recursive=True))
            if m.is_file() and is_media(m) and not is_subtitled_copy(m)
        ]
        if not files:
            return [MediaItem(source=arg, problem=f"{arg}: pattern matches no media files; check the glob")]
        root = _glob_root(arg)
        return [MediaItem(source=str(f), path=f, root=root) for f in files]
    return [
        MediaItem(source=arg, path=path, problem=f"{arg}: no such file or folder; check the path (or quote a glob)")
    ]


def _glob_root(pattern: str) -> Path:
    fixed = []
    for part in Path(pattern).expanduser().parts:
        if _GLOB_CHARS.search(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def expand_inputs(args: list[str]) -> list[MediaItem]:
    """Every input as MediaItems, in argument order, duplicates (same file or URL) dropped."""
    items: list[MediaItem] = []
    seen: set[str] = set()
    for arg in args:
        expanded = _expand_list(arg) if arg.startswith("@") and len(arg) > 1 else _expand_one(arg)
        for item in expanded:
            key = item.url or (_identity(item.path) if item.path and not item.problem else item.source)
            if key in seen:
                log.debug("skipping duplicate input %s", item.source)
                continue
            seen.add(key)
            items.append(item)
    return items


def _identity(path: Path) -> str:
    """What makes two inputs the same file: the resolved path (the plain absolute one for a looping link)."""
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):  # a symlink loop; the item then fails with its own reason
        return os.path.abspath(path)


def _expand_list(arg: str) -> list[MediaItem]:
    list_file = Path(arg[1:]).expanduser()
    if not list_file.is_file() and Path(arg).exists():
        return _expand_one(arg)  # a media file whose name really starts with "@"
    try:
        entries = _read_list(list_file)
    except InputError as exc:
        return [MediaItem(source=arg, problem=str(exc))]
    if not entries:
        return [MediaItem(source=arg, problem=f"{list_file}: the list names no inputs; add one path or URL per line")]
    items: list[MediaItem] = []
    for entry in entries:
        items.extend(_expand_one(entry))
    return items


def mirror_base(items: list[MediaItem]) -> Path | None:
    """The folder that ``--output-dir`` mirrors: the common ancestor of every local item's root."""
    roots = [os.path.abspath(item.root) for item in items if item.root is not None and not item.problem]
    return Path(os.path.commonpath(roots)) if roots else None
