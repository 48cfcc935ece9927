"""Fetch URLs with yt-dlp's Python API: playlists become one item per entry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from subgen.errors import DownloadError
from subgen.inputs import MediaItem

log = logging.getLogger(__name__)

OUTPUT_TEMPLATE = "%(title).80s [%(id)s].%(ext)s"


class _YtdlpLogger:
    """Routes yt-dlp's messages into logging instead of stdout."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        log.warning("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
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


def _clean_error(exc: Exception) -> str:
    text = str(exc).replace("ERROR: ", "").strip()
    return text.splitlines()[0] if text else type(exc).__name__


def expand_url(item: MediaItem) -> list[MediaItem]:
    """A playlist URL as one item per entry; any other URL as itself."""
    import yt_dlp

    assert item.url is not None
    params = {**_base_params(), "extract_flat": "in_playlist"}
    try:
        with yt_dlp.YoutubeDL(params) as ydl:
            info = ydl.extract_info(item.url, download=False, process=True)
    except yt_dlp.utils.YoutubeDLError as exc:
        return [
            MediaItem(
                source=item.url,
                url=item.url,
                problem=f"{item.url}: cannot open URL ({_clean_error(exc)}); check the link",
            )
        ]
    if info.get("_type") != "playlist":
        return [item]
    entries = [e for e in info.get("entries") or [] if e]
    log.info("%s: playlist with %d entries", item.url, len(entries))
    return [MediaItem(source=u, url=u) for e in entries if (u := e.get("url") or e.get("webpage_url"))]


def download(url: str, target_dir: Path, on_progress: Callable[[dict], None] | None = None) -> Path:
    """Download ``url`` (audio only when available) into ``target_dir``; returns the file."""
    import yt_dlp

    params = {
        **_base_params(),
        "format": "bestaudio/best",
        "outtmpl": OUTPUT_TEMPLATE,
        "paths": {"home": str(target_dir)},
        "noplaylist": True,
        "progress_hooks": [on_progress] if on_progress else [],
    }
    target_dir.mkdir(parents=True, exist_ok=True)
    try:
        with yt_dlp.YoutubeDL(params) as ydl:
            info = ydl.extract_info(url, download=True)
            path = (
                Path(info["requested_downloads"][0]["filepath"])
                if info.get("requested_downloads")
                else Path(ydl.prepare_filename(info))
            )
    except yt_dlp.utils.YoutubeDLError as exc:
        raise DownloadError(f"{url}: download failed ({_clean_error(exc)}); check the URL is reachable") from exc
    if not path.is_file():
        raise DownloadError(f"{url}: yt-dlp reported success but wrote no file; retry with --overwrite")
    return path
