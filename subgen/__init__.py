"""subgen: batch subtitles from videos, folders and URLs with Whisper."""

__version__ = "0.1.0"
