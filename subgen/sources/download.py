"""Fetch URLs with yt-dlp's Python API: playlists become one item per entry."""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from subgen.audio.media import ffmpeg_exe, probe
from subgen.core.errors import DownloadError, DownloadStalled, MediaError
from subgen.core.events import DownloadProgress, EventFn
from subgen.core.paths import atomic_write
from subgen.sources.inputs import MediaItem

log = logging.getLogger(__name__)
T = TypeVar("T")

# Byte-limited title (255-byte file names leave room for ".subtitled", ".<lang>.srt" and temp suffixes).
OUTPUT_TEMPLATE = "%(title).150B [%(id)s].%(ext)s"
STALL_SECONDS = 60.0
"""A download that brings fewer than ``STALL_BYTES`` in this long is abandoned (a server trickling bytes would
otherwise hold every item after it; a silent one is caught by the socket timeout)."""
STALL_BYTES = 16 * 1024
TOTAL_SECONDS = 6 * 3600.0
"""No one download may take longer (a whole feature film at a poor 200 kB/s takes an hour)."""
ARCHIVE_NAME = ".subgen-downloads.json"
AUDIO_FORMAT = "bestaudio/best"
VIDEO_FORMAT = "bestvideo*+bestaudio/best"
_URL_TYPES = ("url", "url_transparent")
_EXTRACTOR_PREFIX = re.compile(r"^\[[^\]]+\]\s*(?:[^\s:]+:\s+)?")
_CAUSED_BY = re.compile(r"\s*\(caused by .*$")
_HINTS = (
    (re.compile(r"HTTP Error (?:404|410)"), "check the link: the server has no such file"),
    (re.compile(r"HTTP Error (?:401|403)"), "the server refused access: the media may be private or need a login"),
    (re.compile(r"Unsupported URL"), "yt-dlp found no media there: link to the video or audio itself"),
    (
        re.compile(r"not (?:made this video )?available (?:in|from) your (?:country|location)|geo.?restrict", re.I),
        "the video is blocked where you are (geo-restriction); nothing subgen can change",
    ),
    (
        re.compile(r"Video unavailable|has been removed|Private video|no longer available", re.I),
        "the video was removed or made private; drop it from the list",
    ),
    (
        re.compile(r"Connection refused|timed out|Name or service not known|getaddrinfo|Temporary failure"),
        "check the network connection and the host name",
    ),
)
_DEFAULT_HINT = "check the URL opens in a browser, or update yt-dlp"


class _YtdlpLogger:
    """Routes yt-dlp's messages into logging instead of stdout."""

    def debug(self, msg: str) -> None:
        """yt-dlp's debug and info lines: debug level."""
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        """yt-dlp's progress chatter: debug level."""
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        """yt-dlp's warnings: warning level, except the generic-extractor notice every plain URL gets."""
        level = logging.DEBUG if "Falling back on generic information extractor" in msg else logging.WARNING
        log.log(level, "yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        """yt-dlp's errors: debug only, since the raised DownloadError carries them."""
        log.debug("yt-dlp error: %s", msg)


def _base_params() -> dict[str, Any]:
    return {
        "logger": _YtdlpLogger(),
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "socket_timeout": 30,
        "retries": 2,
        "windowsfilenames": True,
    }


def display_url(url: str) -> str:
    """``url`` without the data yt-dlp smuggles into playlist entry URLs (for messages and reports)."""
    from yt_dlp.utils import unsmuggle_url

    return unsmuggle_url(url)[0]


def _clean_error(exc: Exception) -> str:
    """yt-dlp's error as one short line, without its ERROR/extractor prefixes and exception chain."""
    lines = str(exc).replace("ERROR: ", "").strip().splitlines()
    text = _CAUSED_BY.sub("", _EXTRACTOR_PREFIX.sub("", lines[0].strip())) if lines else ""
    return text or type(exc).__name__


def _failure(url: str, action: str, exc: Exception) -> str:
    """One-line message: which URL, what failed, why, and what to do."""
    reason = _clean_error(exc)
    hint = next((hint for pattern, hint in _HINTS if pattern.search(str(exc))), _DEFAULT_HINT)
    return f"{display_url(url)}: {action} failed ({reason}); {hint}"


def _entry_url(entry: dict[str, Any]) -> str | None:
    """The URL that fetches one playlist entry (a reference's target, else the resolved media)."""
    if entry.get("_type") in _URL_TYPES:
        return entry.get("url")
    return entry.get("url") or entry.get("webpage_url") or entry.get("original_url")


def _entry_items(playlist_url: str, entries: list[dict[str, Any]]) -> list[MediaItem]:
    """One URL item per entry: ``source`` is the plain URL, ``url`` keeps yt-dlp's smuggled entry id."""
    items = []
    for index, entry in enumerate(entries, start=1):
        url = _entry_url(entry)
        if url is None:
            log.warning("%s: playlist entry %d has no URL, skipping it", playlist_url, index)
            continue
        items.append(MediaItem(source=display_url(url), url=url))
    return items


def expand_url(item: MediaItem, infos: dict[str, dict[str, Any]] | None = None) -> list[MediaItem]:
    """A playlist URL as one item per entry; any other URL as itself (its extracted info kept in ``infos``)."""
    import yt_dlp

    assert item.url is not None
    params = {**_base_params(), "extract_flat": "in_playlist"}
    try:
        with yt_dlp.YoutubeDL(params) as ydl:
            info = ydl.extract_info(item.url, download=False, process=True)
    except yt_dlp.utils.YoutubeDLError as exc:
        return [MediaItem(source=item.source, url=item.url, problem=_failure(item.url, "opening the URL", exc))]
    if not info or info.get("_type") != "playlist":
        if info and infos is not None:
            infos[item.url] = info
        return [item]
    entries = [e for e in info.get("entries") or [] if e]
    log.info("%s: playlist with %d entries", item.url, len(entries))
    items = _entry_items(item.url, entries)
    if not items:
        problem = f"{display_url(item.url)}: playlist has no downloadable entries; check the link"
        return [MediaItem(source=item.source, url=item.url, problem=problem)]
    return items


def _downloaded_path(ydl: Any, info: dict[str, Any]) -> Path:
    """Where yt-dlp put the file: the final path of the first requested download."""
    downloads = info.get("requested_downloads") or []
    if downloads and downloads[0].get("filepath"):
        return Path(downloads[0]["filepath"])
    return Path(ydl.prepare_filename(info))


def _unique_generic_id(info: dict[str, Any], url: str) -> dict[str, Any]:
    """Give direct-file URLs an id that differs per URL (the generic extractor uses the file name)."""
    if info.get("extractor_key") != "Generic" or not info.get("id"):
        return info
    digest = hashlib.sha1(display_url(url).encode("utf-8")).hexdigest()[:8]
    return {**info, "id": f"{info['id']}-{digest}"}


def download(
    url: str,
    target_dir: Path,
    on_event: EventFn | None = None,
    *,
    video: bool = False,
    info: dict[str, Any] | None = None,
    limits: DownloadLimits | None = None,
) -> Path:
    """Download ``url`` into ``target_dir``: audio only unless ``video``; returns the file.

    ``info`` is what ``expand_url`` already extracted, so the URL is not extracted twice. A file this
    folder already holds for the same extractor and id (see ``DownloadArchive``) is reused, not fetched.
    """
    import yt_dlp

    archive = DownloadArchive(target_dir)
    if done := archive.by_url(url, video):
        log.info("%s: already downloaded as %s", display_url(url), done.name)
        return done
    guard = _StallGuard(limits or DownloadLimits())
    params = _download_params(target_dir, _progress_hook(url, on_event, guard), video)

    def fetch() -> tuple[Path, str | None]:
        with yt_dlp.YoutubeDL(params) as ydl:
            return _fetch(ydl, url, info, archive, video)

    try:
        path, key = guard.watch(fetch)
    except DownloadStalled as exc:
        raise DownloadError(
            f"{display_url(url)}: download {exc}; the server is too slow or stuck, try again later"
        ) from exc
    except yt_dlp.utils.YoutubeDLError as exc:
        raise DownloadError(_failure(url, "download", exc)) from exc
    if not path.is_file():
        raise DownloadError(f"{display_url(url)}: yt-dlp reported success but wrote no file; run again to retry")
    archive.record(url, key, path, _has_video(path))
    return path


@dataclass(frozen=True)
class DownloadLimits:
    """When a download is given up: fewer than ``STALL_BYTES`` in ``stall`` seconds, or ``total`` seconds in all."""

    stall: float = STALL_SECONDS
    total: float = TOTAL_SECONDS


@dataclass
class _StallGuard:
    """Watches the bytes a download brings; ``watch`` gives up on one that stalls or takes too long in all.

    yt-dlp reads a block at a time and reports after each, so a server that trickles bytes blocks inside a read
    for minutes: the download therefore runs on a worker thread, and the caller stops waiting when no
    ``STALL_BYTES`` arrived for ``limits.stall`` seconds, or after ``limits.total`` seconds (the abandoned thread
    ends when its connection does, and what it leaves is a ``.part`` file, never a finished download).
    """

    limits: DownloadLimits
    mark_time: float = field(default_factory=time.monotonic)
    mark_bytes: float = 0.0

    def note(self, done: float) -> None:
        """Record progress: ``done`` bytes downloaded so far."""
        if done - self.mark_bytes >= STALL_BYTES or done < self.mark_bytes:
            self.mark_time, self.mark_bytes = time.monotonic(), done

    def watch(self, work: Callable[[], T]) -> T:
        """``work()``'s result (or its exception), unless it stalls first: then ``DownloadStalled``."""
        outcome: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

        def run() -> None:
            try:
                outcome.put((True, work()))
            except BaseException as exc:  # handed to the waiting caller
                outcome.put((False, exc))

        threading.Thread(target=run, name="subgen-download", daemon=True).start()
        started = self.mark_time = time.monotonic()
        while True:
            try:
                ok, value = outcome.get(timeout=min(1.0, self.limits.stall / 4, self.limits.total / 4))
            except queue.Empty:
                self._check(time.monotonic(), started)
                continue
            if ok:
                return value
            raise value

    def _check(self, now: float, started: float) -> None:
        idle, limits = now - self.mark_time, self.limits
        if idle > limits.stall:
            raise DownloadStalled(
                f"stalled: less than {STALL_BYTES // 1024} KiB in {idle:.0f} s (after {self.mark_bytes:.0f} bytes)"
            )
        if now - started > limits.total:
            raise DownloadStalled(f"took longer than {limits.total:g} s ({self.mark_bytes:.0f} bytes so far)")


def _progress_hook(url: str, on_event: EventFn | None, guard: _StallGuard) -> Callable[[dict], None]:
    """yt-dlp's progress dicts as typed ``DownloadProgress`` events (the dicts stay inside this module); progress
    also feeds the stall guard."""

    def hook(status: dict) -> None:
        done = float(status.get("downloaded_bytes") or 0)
        guard.note(done)
        if on_event is not None:
            total = status.get("total_bytes") or status.get("total_bytes_estimate")
            on_event(DownloadProgress(done, total, display_url(url)))

    return hook


class Downloader:
    """URLs of one batch: playlists expanded once, each URL downloaded once into ``target_dir``.

    What yt-dlp extracted while expanding is kept for the download, so no URL is extracted twice.
    """

    def __init__(
        self,
        target_dir: Path,
        *,
        video: bool = False,
        on_event: EventFn | None = None,
        limits: DownloadLimits | None = None,
    ) -> None:
        self.target_dir, self.video, self.on_event, self.limits = target_dir, video, on_event, limits
        self._infos: dict[str, dict[str, Any]] = {}
        self._files: dict[str, Path] = {}

    def expand(self, item: MediaItem) -> list[MediaItem]:
        """A playlist URL as one item per entry; any other item as itself."""
        if not item.is_url or item.problem:
            return [item]
        return expand_url(item, self._infos)

    def fetch(self, url: str) -> Path:
        """The downloaded file of ``url`` (fetched on first use; raises ``DownloadError``)."""
        if url not in self._files:
            info = self._infos.get(url)
            self._files[url] = download(
                url, self.target_dir, self.on_event, video=self.video, info=info, limits=self.limits
            )
        return self._files[url]


def _has_video(path: Path) -> bool:
    try:
        return probe(path).video_streams > 0
    except MediaError:
        return False


def _download_params(target_dir: Path, on_progress: Callable[[dict], None], video: bool) -> dict[str, Any]:
    from yt_dlp.postprocessor import MetadataParserPP

    target_dir.mkdir(parents=True, exist_ok=True)
    # yt-dlp already replaces path separators in titles; leading dots, slashes and dashes would make
    # hidden files and names that look like options, so they go before the file name is formed.
    no_leading_dots = (MetadataParserPP.Actions.REPLACE, "title", r"^[\s./\\-]+", "")
    return {
        **_base_params(),
        "format": VIDEO_FORMAT if video else AUDIO_FORMAT,
        "outtmpl": OUTPUT_TEMPLATE,
        "paths": {"home": str(target_dir)},
        "noplaylist": True,
        "progress_hooks": [on_progress],
        # Merging separate video and audio streams needs ffmpeg: the same one subgen uses.
        "ffmpeg_location": ffmpeg_exe(),
        "postprocessors": [{"key": "MetadataParser", "when": "pre_process", "actions": [no_leading_dots]}],
    }


def _fetch(
    ydl: Any, url: str, info: dict[str, Any] | None, archive: DownloadArchive, video: bool
) -> tuple[Path, str | None]:
    """Extract (unless ``info`` is given), skip what the archive holds, else download; returns (file, key)."""
    # Extract, then download: a playlist URL is refused before any of its entries is fetched.
    info = info or ydl.extract_info(url, download=False, process=False)
    if not info or info.get("_type") == "playlist":
        raise DownloadError(f"{display_url(url)}: is a playlist, not one video; pass its entries' URLs")
    info = _unique_generic_id(info, url)
    key = archive_key(info)
    if key and (done := archive.by_key(key, video)):
        log.info("%s: %s already downloaded as %s", display_url(url), key, done.name)
        return done, key
    if key and video and (audio_only := archive.by_key(key, False)):
        # The picture is needed now; the audio-only file may share the name yt-dlp is about to use.
        audio_only.unlink()
    info = ydl.process_ie_result(info, download=True)
    if not info or info.get("_type") == "playlist":
        raise DownloadError(f"{display_url(url)}: is a playlist, not one video; pass its entries' URLs")
    return _downloaded_path(ydl, info), archive_key(info)


def archive_key(info: dict[str, Any]) -> str | None:
    """``<extractor> <id>``: what identifies a download across reruns (None until yt-dlp resolved it)."""
    if info.get("_type") in _URL_TYPES or not info.get("id") or not info.get("extractor_key"):
        return None
    return f"{info['extractor_key'].lower()} {info['id']}"


class DownloadArchive:
    """``.subgen-downloads.json`` in a download folder: extractor+id → file name (and whether it has video).

    A rerun finds a finished download by URL without touching the network, or by extractor and id
    once yt-dlp identified the URL; a file deleted by hand is simply fetched again.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / ARCHIVE_NAME
        self.data = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"files": {}, "urls": {}}
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            return {"files": {}, "urls": {}}
        return {"files": data["files"], "urls": data.get("urls") or {}}

    def by_key(self, key: str, video: bool) -> Path | None:
        """The file downloaded for ``key``, if it is still there and has the picture when ``video``."""
        entry = self.data["files"].get(key)
        if not isinstance(entry, dict) or (video and not entry.get("video")):
            return None
        path = self.path.parent / str(entry.get("file", ""))
        return path if path.is_file() and path.parent == self.path.parent else None

    def by_url(self, url: str, video: bool) -> Path | None:
        """The file an earlier run downloaded for this exact URL."""
        key = self.data["urls"].get(display_url(url))
        return self.by_key(key, video) if isinstance(key, str) else None

    def record(self, url: str, key: str | None, path: Path, video: bool) -> None:
        """Remember a finished download (``video``: whether the file has a picture)."""
        if key is None or path.parent.resolve() != self.path.parent.resolve():
            return
        self.data["files"][key] = {"file": path.name, "video": video}
        self.data["urls"][display_url(url)] = key
        atomic_write(self.path, json.dumps(self.data, ensure_ascii=False, indent=1) + "\n")
