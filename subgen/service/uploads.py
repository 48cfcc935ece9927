"""Uploads onto disk: copied in chunks under a size limit while hashed, raw PCM wrapped as WAV, media checked
with ffmpeg before a job is made, so a file that is not media is a clear 400 at once, not a failed job later."""

from __future__ import annotations

import hashlib
import re
import shutil
import uuid
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from subgen.audio import media
from subgen.core.errors import MediaError
from subgen.service.errors import BadRequest, TooLarge

CHUNK = 1024 * 1024
PCM_RATE = 16000
"""``encode=false`` uploads (whisper-asr-webservice, Bazarr) are raw 16 kHz mono signed 16-bit little-endian PCM."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()\[\]-]+")


@dataclass(frozen=True)
class Upload:
    """An upload on disk: where, its SHA-256 and size, and the client's (cleaned) file name."""

    path: Path
    sha256: str
    size: int
    filename: str


def safe_name(filename: str | None, default: str = "upload") -> str:
    """A file name safe to create: the client's base name with odd characters replaced, never hidden or empty."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip(" .")[:120]
    return cleaned or default


def scratch_dir(incoming: Path) -> Path:
    """A new private folder under ``incoming`` for one upload."""
    folder = incoming / uuid.uuid4().hex
    folder.mkdir(parents=True, mode=0o700)
    return folder


def save(src: BinaryIO, folder: Path, filename: str | None, limit: int) -> Upload:
    """Copy ``src`` into ``folder`` (hashing it); ``TooLarge`` past ``limit`` bytes, ``BadRequest`` when empty."""
    name = safe_name(filename)
    target = folder / name
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise BadRequest("the uploaded file is empty (0 bytes); send a media file", param="file", code="empty_file")
    return Upload(target, digest.hexdigest(), size, name)


def save_pcm(src: BinaryIO, folder: Path, filename: str | None, limit: int) -> Upload:
    """Raw 16 kHz mono s16le PCM as a WAV file ffmpeg can read (a trailing odd byte is dropped)."""
    target = folder / (Path(safe_name(filename, "audio")).stem + ".wav")
    digest, size, carry = hashlib.sha256(b"pcm|"), 0, b""
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(PCM_RATE)
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            data = carry + chunk
            whole = len(data) - len(data) % 2
            digest.update(data[:whole])
            out.writeframesraw(data[:whole])
            carry = data[whole:]
    if size < 2:
        raise BadRequest("the uploaded audio is empty; send raw 16 kHz mono s16le PCM", param="audio_file")
    return Upload(target, digest.hexdigest(), size, target.name)


def check_media(upload: Upload) -> media.MediaInfo:
    """ffmpeg's view of the upload; a ``BadRequest`` naming the client's file when it is not usable media."""
    try:
        info = media.probe(upload.path)
    except MediaError as exc:
        raise BadRequest(_client_message(exc, upload), param="file", code="invalid_media") from exc
    if info.audio_streams == 0:
        raise BadRequest(f"{upload.filename}: has no audio stream, so there is nothing to transcribe", param="file")
    return info


def discard(folder: Path) -> None:
    """Remove an upload's folder (a duplicate, or a rejected file)."""
    shutil.rmtree(folder, ignore_errors=True)


def _client_message(exc: Exception, upload: Upload) -> str:
    return str(exc).replace(str(upload.path), upload.filename)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"upload exceeds the limit of {limit // CHUNK} MiB (--max-upload-mb)", param="file")
