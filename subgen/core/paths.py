"""Where outputs go and how they are written: ``<stem>.<lang>.<ext>`` naming, mirroring, atomic writes.

Names follow what Plex, Jellyfin and VLC pick up (``talk.en.srt``); a subtitle format's name is its file
extension. Every write goes through a temp file in the target folder and ``os.replace``, so a reader (or a
killed run) never sees half a file; ``remove_stale_temps`` clears what a killed run left.
"""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path

from subgen.core.errors import OutputError
from subgen.core.languages import LANGUAGE_CODES

TEMP_MARK = ".subgen-tmp"
SUBTITLED = "subtitled"
"""The infix of burn-in and embed outputs: ``<stem>.subtitled.<ext>``."""


def output_base(media: Path, root: Path | None, output_dir: Path | None, base: Path | None) -> Path:
    """Where ``<stem>.<lang>.<ext>`` files go, as a path without the language and extension."""
    if output_dir is None:
        return media.with_suffix("")
    if root is None or base is None:
        return output_dir / media.stem
    relative = Path(os.path.abspath(media)).relative_to(base)
    return (output_dir / relative).with_suffix("")


def output_paths(base: Path, language: str, formats: tuple[str, ...]) -> dict[str, Path]:
    """``<base>.<lang>.<ext>`` for each format."""
    return {f: base.with_name(f"{base.name}.{language}.{f}") for f in formats}


def split_language_suffix(name: str) -> tuple[str, str | None, str]:
    """Split ``<stem>.<lang>.<ext>`` into its parts (``talk.en.srt`` -> ``talk``, ``en``, ``.srt``).

    The language is None when the part before the extension is not a Whisper language code
    (``talk.v2.srt`` -> ``talk.v2``, None, ``.srt``); the extension keeps its dot and case.
    """
    path = Path(name)
    head, _, tail = path.stem.rpartition(".")
    if head and tail in LANGUAGE_CODES:
        return head, tail, path.suffix
    return path.stem, None, path.suffix


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, text: str) -> None:
    """Write UTF-8 text through a temp file in the same folder and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_MARK, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; a subtitle should be readable like any file the user creates (media servers).
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror}); check permissions and free space") from exc
    finally:
        tmp.unlink(missing_ok=True)


def remove_stale_temps(folder: Path, stem: str) -> None:
    """Delete temp files a killed run left behind for outputs named after ``stem``."""
    if folder.is_dir():
        for tmp in folder.glob(f".{glob.escape(stem)}.*{TEMP_MARK}"):
            tmp.unlink(missing_ok=True)


def find_existing(base: Path, formats: tuple[str, ...], language: str | None) -> dict[str, Path] | None:
    """The finished outputs of an item (every format, one language), or None if any is missing."""
    candidates = [language] if language else _languages_on_disk(base, formats[0])
    for lang in candidates:
        paths = output_paths(base, lang, formats)
        if all(p.is_file() for p in paths.values()):
            return paths
    return None


def _languages_on_disk(base: Path, fmt: str) -> list[str]:
    if not base.parent.is_dir():
        return []
    ext = "." + fmt
    found = []
    for path in base.parent.iterdir():
        stem, lang, suffix = split_language_suffix(path.name)
        if stem == base.name and lang and suffix == ext:
            found.append(lang)
    return sorted(found)
