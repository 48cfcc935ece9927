"""Small media for the service tests, made with ffmpeg: WAVs, distinct variants of one clip, raw PCM as Bazarr
sends it."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

RATE = 16000


def _ffmpeg(*args: str) -> bytes:
    from subgen.audio.media import ffmpeg_exe

    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    return subprocess.run(argv, check=True, capture_output=True).stdout


def pcm(source: Path) -> bytes:
    """The audio of ``source`` as raw 16 kHz mono s16le PCM (Bazarr's ``encode_audio_stream``)."""
    return _ffmpeg("-i", str(source), "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(RATE), "-")


def wav(source: Path, target: Path) -> Path:
    """``source``'s audio as a 16 kHz mono WAV."""
    target.parent.mkdir(parents=True, exist_ok=True)
    write_wav(target, pcm(source))
    return target


def write_wav(target: Path, samples: bytes) -> Path:
    """Raw 16 kHz mono s16le ``samples`` as a WAV file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples)
    return target


def variants(source: Path, folder: Path, count: int, stem: str = "clip") -> list[Path]:
    """``count`` WAVs of ``source``'s audio, each with a different length of trailing silence: different media
    (so each is a job of its own), the same speech."""
    samples = pcm(source)
    return [write_wav(folder / f"{stem}-{n:02d}.wav", samples + b"\0\0" * 160 * (n + 1)) for n in range(count)]
