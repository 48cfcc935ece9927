"""Where outputs go and how they are written: ``<stem>.<lang>.<ext>`` naming, mirroring, atomic writes.

Names follow what Plex, Jellyfin and VLC pick up (``talk.en.srt``); a subtitle format's name is its file
extension. Every write goes through a temp file in the target folder and ``os.replace``, so a reader (or a
killed run) never sees half a file; ``remove_stale_temps`` clears what a killed run left.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from subgen.core.errors import OutputError
from subgen.core.languages import LANGUAGE_CODES

log = logging.getLogger(__name__)

TEMP_MARK = ".subgen-tmp"
SUBTITLED = "subtitled"
"""The infix of soft-track outputs (``--embed``): ``<stem>.subtitled.<ext>``."""
BURNED = "burned"
"""The infix of burn-in outputs (``--burn``): ``<stem>.burned.<ext>``; apart from embeds, so neither hides the other."""


def display(text: str | os.PathLike[str]) -> str:
    """A path or message that is safe to print and to store as JSON: bytes of a file name that are not UTF-8
    (kept by Python as surrogates) are shown as ``\\xNN`` escapes instead of breaking the output."""
    return os.fspath(text).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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


TEMP_NAME_BYTES = 200
"""Most bytes of a file name kept in its temp file's name: with the random part and the mark it stays under the
255-byte limit of common file systems, however long the name."""


def _name_head(name: str) -> tuple[str, bool]:
    """``name`` cut to its first ``TEMP_NAME_BYTES`` bytes (as the file system stores it), and whether it was cut."""
    raw = os.fsencode(name)
    if len(raw) <= TEMP_NAME_BYTES:
        return name, False
    return os.fsdecode(raw[:TEMP_NAME_BYTES]), True


def temp_prefix(name: str) -> str:
    """The start of the temp file names that stand in for ``name`` until it is complete."""
    head, cut = _name_head(name)
    return f".{head}" if cut else f".{head}."


def atomic_write(path: Path, text: str) -> None:
    """Write UTF-8 text through a temp file in the same folder and rename it into place."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot create the folder ({exc.strerror}); check the path") from exc
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=TEMP_MARK, dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror}); check permissions and free space") from exc
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
        for tmp in folder.glob(f"{glob.escape(temp_prefix(stem))}*{TEMP_MARK}"):
            tmp.unlink(missing_ok=True)


def check_folder(folder: Path, what: str) -> None:
    """Raise ``OutputError`` unless files can be created in ``folder`` (or in the folder that would be made there:
    its nearest existing ancestor must be a writable folder)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(
            f"{folder}: {what} cannot be created: {existing} is a file, not a folder; choose another path"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: {what} is not writable ({existing} is read-only for you); choose another path")


def check_file_target(path: Path, what: str) -> None:
    """Raise ``OutputError`` unless ``path`` can be written as a file: not a folder, its folder already there and
    writable (no folders are made for it), an existing file writable."""
    if path.is_dir():
        raise OutputError(f"{path}: {what} would replace a folder; give a file name, e.g. {path / 'report.json'}")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: {what}'s folder {path.parent} does not exist; create it or choose another path")
    if not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputError(f"{path}: {what} is not writable; choose another path")


LANGUAGES_FILE = ".subgen-languages.json"
"""Per output folder: the language subgen detected for each item (``<stem>``), so that a rerun knows which
``<stem>.<lang>.*`` files are its own without loading a model; subtitles from elsewhere are not mistaken for them."""
_LANGUAGES_LOCK = threading.Lock()


def recorded_language(base: Path) -> str | None:
    """The language subgen wrote ``base``'s subtitles in, if it recorded one."""
    entry = _read_languages(base.parent).get(base.name)
    return entry if isinstance(entry, str) and entry in LANGUAGE_CODES else None


def record_language(base: Path, language: str) -> None:
    """Remember that ``base``'s subtitles are in ``language`` (best effort: a failure only costs a detection)."""
    with _LANGUAGES_LOCK:
        known = _read_languages(base.parent)
        if known.get(base.name) == language:
            return
        known[base.name] = language
        try:
            atomic_write(base.parent / LANGUAGES_FILE, json.dumps(known, indent=1) + "\n")
        except OutputError as exc:
            log.warning("%s", exc)


def _read_languages(folder: Path) -> dict[str, object]:
    try:
        data = json.loads((folder / LANGUAGES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def languages_on_disk(base: Path, formats: tuple[str, ...]) -> dict[str, dict[str, Path]]:
    """Every language in which all of ``base``'s requested outputs exist, with those files."""
    found = {}
    for lang in _languages_on_disk(base, formats[0]):
        paths = output_paths(base, lang, formats)
        if all(p.is_file() for p in paths.values()):
            found[lang] = paths
    return found


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
