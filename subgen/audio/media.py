"""Every ffmpeg call: locate ffmpeg, probe, extract 16 kHz mono audio (in memory or to a file read piecewise)."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from subgen.core.errors import FFmpegNotFound, MediaError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
BYTES_PER_SAMPLE = 4
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_FPS = re.compile(r"(\d+(?:\.\d+)?) fps")
_STREAM = re.compile(r"Stream #\d+:\d+.*?: (Audio|Video|Subtitle|Data): (.*)")
_DAMAGE = re.compile(
    r"ended prematurely|partial file|truncat|invalid data found|corrupt|error while decoding|incomplete frame", re.I
)
"""What ffmpeg logs when a file ends early or holds damaged data (demuxer and decoder messages)."""
_SUBTITLE_LANGUAGE = re.compile(r"Stream #\d+:\d+(?:\[\w+\])?(?:\((\w+)\))?.*?: Subtitle: ")


class DiskSamples:
    """Mono float32 samples in a raw little-endian f32 file, read one slice at a time.

    Each slice is read with seek + readinto into a fresh array, so only what a caller asks for is ever in
    memory; a memory map would grow the process's RSS with every page it touches.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._length = path.stat().st_size // BYTES_PER_SAMPLE

    def __len__(self) -> int:
        return self._length

    def __repr__(self) -> str:
        return f"DiskSamples({str(self.path)!r}, {self._length} samples)"

    def __getitem__(self, index: slice) -> np.ndarray:
        """The samples of ``index`` (a slice, clamped like numpy's), as a new float32 array."""
        if not isinstance(index, slice):
            raise TypeError(f"DiskSamples takes a slice (samples[a:b]), not {type(index).__name__}")
        start, stop, step = index.indices(self._length)
        if step != 1:
            raise ValueError(f"DiskSamples reads contiguous slices only; step {step} is not supported")
        out = np.empty(max(stop - start, 0), dtype="<f4")
        if out.size:
            self._read_into(start, out)
        return out.astype(np.float32, copy=False)

    def _read_into(self, start: int, out: np.ndarray) -> None:
        with self.path.open("rb") as f:
            f.seek(start * BYTES_PER_SAMPLE)
            got = f.readinto(memoryview(out.data).cast("B"))
        if got != out.nbytes:
            raise MediaError(f"{self.path}: audio file shrank while in use; do not modify it during a run")


Samples = np.ndarray | DiskSamples
"""Decoded audio: an in-memory array, or a file read a slice at a time (both take ``samples[a:b]`` and len())."""


@dataclass(frozen=True)
class AudioClip:
    """Decoded mono float32 audio on the source's timeline (t=0 is the container's start)."""

    samples: Samples
    source: Path
    sample_rate: int = SAMPLE_RATE

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True)
class MediaInfo:
    """What a probe learns about a file."""

    path: Path
    duration: float | None
    audio_streams: int
    video_streams: int
    audio_codec: str | None
    fps: float | None = None
    subtitle_languages: tuple[str, ...] = ()
    default_audio: int = 0
    """The audio track (0-based, among audio streams) marked default, else 0."""
    damaged: bool = False
    """ffmpeg reported the file ending early or corrupt data while decoding it (set by ``extract_audio_file``)."""


@functools.cache
def ffmpeg_exe() -> str:
    """Path to ffmpeg: $SUBGEN_FFMPEG, else the system ffmpeg, else imageio-ffmpeg's binary."""
    if env := os.environ.get("SUBGEN_FFMPEG"):
        if shutil.which(env) is None:
            raise FFmpegNotFound(f"SUBGEN_FFMPEG={env} is not an executable; unset it or fix the path")
        return env
    if system := shutil.which("ffmpeg"):
        return system
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise FFmpegNotFound(
            "ffmpeg not found: install it (apt-get install ffmpeg) or pip install imageio-ffmpeg"
        ) from exc


def ffmpeg_arg(path: Path) -> str:
    """A local path as an ffmpeg input/output URL that no name can be misread as an option or protocol."""
    return "file:" + str(path.absolute())


def run_ffmpeg(
    args: list[str],
    *,
    what: Path,
    capture_stdout: bool = False,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run ffmpeg with ``args`` (in ``cwd``, with extra ``env``); raise MediaError naming ``what`` when it fails
    (unless ``check`` is off: then the caller reads the exit code and the log)."""
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", *args]
    log.debug("ffmpeg argv: %s (cwd %s)", argv, cwd)
    proc = subprocess.run(
        argv,
        stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
        cwd=cwd,
        env={**os.environ, **env} if env else None,
    )
    if check and proc.returncode != 0:
        raise MediaError(f"{what}: ffmpeg failed: {_last_line(proc.stderr)}")
    return proc


_LOG_PREFIX = re.compile(r"^\[[^\]]+ @ 0x[0-9a-f]+\]\s*")


def _stderr_lines(stderr: bytes) -> list[str]:
    text = stderr.decode("utf-8", "replace")
    return [_LOG_PREFIX.sub("", ln).strip() for ln in text.splitlines() if ln.strip()]


def _last_line(stderr: bytes) -> str:
    lines = _stderr_lines(stderr)
    return lines[-1] if lines else "no error message"


def _first_cause(stderr: bytes) -> str:
    """The most specific line of a failed open: the demuxer's own complaint comes before ffmpeg's summary."""
    generic = ("Error opening input", "Input #", "Duration", "Format ")
    lines = [ln for ln in _stderr_lines(stderr) if not ln.startswith(generic)]
    return lines[0] if lines else _last_line(stderr)


def _check_file(path: Path) -> None:
    if not path.is_file():
        if os.path.lexists(path) and not path.exists():
            raise MediaError(f"{path}: a broken or looping symbolic link; point it at a media file")
        if path.exists():
            raise MediaError(f"{path}: not a regular file (a folder, FIFO or device); pass a media file")
        raise MediaError(f"{path}: file not found; check the path")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty (0 bytes); re-copy or re-download it")


def probe(path: Path) -> MediaInfo:
    """Read duration and stream counts from ``ffmpeg -i`` (imageio-ffmpeg ships no ffprobe)."""
    _check_file(path)
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", ffmpeg_arg(path)]
    log.debug("ffmpeg argv: %s", argv)
    proc = subprocess.run(argv, capture_output=True, check=False)
    return _media_info(path, proc.stderr)


_OUTPUT_SIDE = re.compile(r"^(?:Stream mapping:|Output #)", re.MULTILINE)


def _media_info(path: Path, stderr: bytes) -> MediaInfo:
    """The input's streams and duration from ffmpeg's log (the part before its output side begins)."""
    text = stderr.decode("utf-8", "replace")
    if cut := _OUTPUT_SIDE.search(text):
        text = text[: cut.start()]
    streams = [m.groups() for m in _STREAM.finditer(text)]
    if not streams:
        raise MediaError(
            f"{path}: not a readable media file ({_first_cause(stderr)}); "
            "check it is a complete video or audio file"
        )
    audio = [detail for kind, detail in streams if kind == "Audio"]
    video = [d for kind, d in streams if kind == "Video" and "attached pic" not in d]
    return MediaInfo(
        path=path,
        duration=_parse_duration(text),
        audio_streams=len(audio),
        video_streams=len(video),
        audio_codec=audio[0].split(",")[0].split()[0] if audio else None,
        fps=_parse_fps(video[0]) if video else None,
        subtitle_languages=tuple(m.group(1) or "und" for m in _SUBTITLE_LANGUAGE.finditer(text)),
        default_audio=next((n for n, detail in enumerate(audio) if "(default)" in detail), 0),
    )


def _parse_fps(detail: str) -> float | None:
    match = _FPS.search(detail)
    return float(match.group(1)) if match and float(match.group(1)) > 0 else None


def _parse_duration(text: str) -> float | None:
    match = _DURATION.search(text)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _decode_args(path: Path, target: str, loglevel: str = "error", track: int = 0) -> list[str]:
    """ffmpeg arguments that decode ``path``'s audio stream ``track`` (0-based) to 16 kHz mono f32le at ``target``."""
    import ffmpeg

    # ffmpeg-python hashes its arguments as UTF-8: the paths (which may hold undecodable bytes of a file name)
    # go in as placeholders and are put back into the finished argument list.
    placeholders = {"subgen-input": ffmpeg_arg(path), "subgen-output": target}
    stream = ffmpeg.input("subgen-input").output(
        "subgen-output",
        format="f32le",
        acodec="pcm_f32le",
        ac=1,
        ar=SAMPLE_RATE,
        # A stream that starts after the container (non-zero audio start_time) gets leading
        # silence, so word times land on the video's timeline.
        af="aresample=async=1:first_pts=0",
        map=f"0:a:{track}",
        vn=None,
        sn=None,
        dn=None,
    )
    args = [placeholders.get(arg, arg) for arg in stream.compile(cmd="ffmpeg")[1:]]
    return ["-loglevel", loglevel, "-nostats", *args]


def _failure(path: Path, stderr: bytes, directory: Path) -> MediaError:
    """ffmpeg's failure as one line; a full disk says where, not "Conversion failed!"."""
    if b"No space left on device" in stderr:
        return MediaError(
            f"{path}: no space left on the disk of {directory} while extracting audio; free space there or set "
            "TMPDIR to a folder on a larger disk"
        )
    return MediaError(f"{path}: ffmpeg failed: {_last_line(stderr)}")


def _nothing_decoded(path: Path) -> MediaError:
    return MediaError(f"{path}: no audio could be decoded; the file may be truncated or corrupt")


def extract_audio(path: Path) -> AudioClip:
    """Decode the first audio stream to 16 kHz mono float32 in memory, padded so t=0 is the container's start."""
    proc = run_ffmpeg(_decode_args(path, "pipe:"), what=path, capture_stdout=True)
    samples = np.frombuffer(proc.stdout, dtype="<f4")
    if samples.size == 0:
        raise _nothing_decoded(path)
    return AudioClip(samples=samples.astype(np.float32), source=path)


def extract_audio_file(path: Path, directory: Path, track: int | None = None) -> tuple[MediaInfo, AudioClip]:
    """What ``probe`` and ``extract_audio`` give, from one ffmpeg run: the samples go to a raw f32 file in
    ``directory`` (the caller's temp dir) and the streams are read from the same run's log.

    ``track`` picks an audio stream (0-based); without it the one marked default is decoded (the first, unless
    the file marks another, which then costs a second run). Memory stays flat however long the media is: the
    clip reads its samples from the file a slice at a time.
    """
    info, clip = _extract_track(path, directory, track or 0)
    if track is None and info.default_audio != 0 and isinstance(clip.samples, DiskSamples):
        clip.samples.path.unlink(missing_ok=True)
        info, clip = _extract_track(path, directory, info.default_audio)
    return info, clip


def _extract_track(path: Path, directory: Path, track: int) -> tuple[MediaInfo, AudioClip]:
    _check_file(path)
    fd, name = tempfile.mkstemp(prefix=f"{path.stem[:40]}.", suffix=".f32", dir=directory)
    os.close(fd)
    target = Path(name)
    try:
        proc = run_ffmpeg(["-y", *_decode_args(path, ffmpeg_arg(target), "info", track)], what=path, check=False)
        info = _media_info(path, proc.stderr)
        if info.audio_streams == 0:
            raise MediaError(f"{path}: has no audio stream, so there is nothing to transcribe")
        if track >= info.audio_streams:
            raise MediaError(
                f"{path}: has {info.audio_streams} audio track(s); --audio-track takes 0 to {info.audio_streams - 1}"
            )
        if proc.returncode != 0:
            raise _failure(path, proc.stderr, directory)
        info = dataclasses.replace(info, damaged=bool(_DAMAGE.search(proc.stderr.decode("utf-8", "replace"))))
        samples = DiskSamples(target)
        if len(samples) == 0:
            raise _nothing_decoded(path)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return info, AudioClip(samples=samples, source=path)
