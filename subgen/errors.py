"""The subgen exception hierarchy; every message says what went wrong and what to do."""

from __future__ import annotations


class SubgenError(Exception):
    """Base of every error subgen raises on purpose."""


class InputError(SubgenError):
    """An input path, glob, list file or URL cannot be used."""


class DownloadError(SubgenError):
    """yt-dlp could not fetch a URL or a playlist entry."""


class MediaError(SubgenError):
    """ffmpeg could not read, probe or write a media file."""


class FFmpegNotFound(MediaError):
    """Neither a system ffmpeg nor the imageio-ffmpeg binary is available."""


class EngineError(SubgenError):
    """A speech engine failed to load or to transcribe."""


class ModelNotAvailable(EngineError):
    """A model name or path cannot be resolved to usable weights."""


class OutputError(SubgenError):
    """A subtitle file cannot be written."""


class EvaluationError(SubgenError):
    """A reference or hypothesis cannot be read or compared."""
