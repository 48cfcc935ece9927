"""Every error subgen raises on purpose, as one tree; each message says what went wrong and what to do.

Drivers catch ``SubgenError`` and show its message as one line: the CLI exits 2 for a ``UsageError`` found
before any work starts and reports the rest per item; the service maps the classes to HTTP status codes.

    SubgenError
    ├── InputError                 an input path, glob, @list or URL cannot be used
    │   ├── UsageError             options that contradict each other or name unknown values
    │   └── SubtitleFileError      a subtitle file cannot be read or parsed
    │       └── EvaluationError    a reference/hypothesis pair cannot be compared
    ├── DownloadError              yt-dlp could not fetch a URL or a playlist entry
    ├── MediaError                 ffmpeg could not read, probe or write a media file
    │   └── FFmpegNotFound         no usable ffmpeg binary at all
    ├── EngineError                a speech engine failed to load or to decode
    │   └── ModelNotAvailable      a model name or path does not resolve to usable weights
    └── OutputError                a subtitle, report or video file cannot be written

Two internal signals are not ``SubgenError``s because they never reach the user: ``OutOfMemory`` (an engine
adapter ran out of accelerator memory; the batch halves and retries) and ``DownloadStalled`` (a download barely
moves; it becomes a ``DownloadError`` with the reason).
"""

from __future__ import annotations


class SubgenError(Exception):
    """Base of every error subgen raises on purpose; ``str(error)`` is the one-line message for the user."""


class InputError(SubgenError):
    """An input path, glob, list file or URL cannot be used."""


class UsageError(InputError):
    """Options that contradict each other or name unknown values (the CLI's exit code 2)."""


class SubtitleFileError(InputError):
    """A subtitle file cannot be read or is not valid SRT, WebVTT, ASS or subgen JSON."""


class EvaluationError(SubtitleFileError):
    """A reference or hypothesis cannot be read or compared."""


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
    """A subtitle, report or video file cannot be written."""


class OutOfMemory(Exception):
    """Internal: an engine ran out of accelerator memory on a batch (raised by adapters, handled by ``BatchSize``)."""


class DownloadStalled(Exception):
    """Internal: a download brought too few bytes for too long (turned into a ``DownloadError``)."""
