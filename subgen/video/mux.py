"""Subtitles into the video: burn-in through libass, and soft subtitle tracks muxed without re-encoding."""

from __future__ import annotations

import functools
import glob
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from subgen.audio import media
from subgen.core.errors import MediaError
from subgen.core.languages import iso639_2, language_name
from subgen.core.options import RunOptions, SubtitleStyle, VideoOptions
from subgen.core.paths import BURNED, SUBTITLED, TEMP_MARK, split_language_suffix
from subgen.core.types import Cue, Transcript
from subgen.subtitles.ass import render as render_ass
from subgen.subtitles.io import read_cues, visible
from subgen.subtitles.writers import WRITERS, Document
from subgen.video.tracks import Track

log = logging.getLogger(__name__)

ASS_SUFFIXES = (".ass", ".ssa")
# Containers that take H.264 with the source's audio copied; WebM needs VP9; anything else becomes Matroska.
_X264_SUFFIXES = frozenset([".mp4", ".m4v", ".mov", ".mkv", ".avi", ".flv", ".ts", ".m2ts", ".mts", ".3gp"])
_MOV_SUFFIXES = frozenset([".mp4", ".m4v", ".mov"])
_MATROSKA_SUFFIXES = frozenset([".mkv", ".webm"])
_SOFT_CODEC = {".mp4": "mov_text", ".m4v": "mov_text", ".mov": "mov_text", ".mkv": "srt", ".webm": "webvtt"}
_DIRECT_INPUTS = frozenset([".srt", ".vtt", *ASS_SUFFIXES])
# A remux keeps every packet, so durations agree to well under this.
_DURATION_SLACK = 0.5


def subtitled_path(base: Path, suffix: str) -> Path:
    """``<base>.subtitled<suffix>``, a soft-track copy: ``base`` is the output path without extension."""
    return base.with_name(f"{base.name}.{SUBTITLED}{suffix}")


def burned_path(base: Path, source: Path) -> Path:
    """``<base>.burned<ext>``, a burn-in copy, in the container ``burn_suffix`` picks for ``source``."""
    return base.with_name(f"{base.name}.{BURNED}{burn_suffix(source)}")


def burn_suffix(source: Path) -> str:
    """The container a burn-in writes: the source's, unless it cannot take the re-encoded video (then .mkv)."""
    suffix = source.suffix.lower()
    return suffix if suffix in _X264_SUFFIXES or suffix == ".webm" else ".mkv"


def soft_codec(container: Path, track: Track) -> str:
    """The subtitle codec a container stores: mov_text in MP4/MOV, SRT or ASS in MKV, WebVTT in WebM."""
    suffix = container.suffix.lower()
    if suffix not in _SOFT_CODEC:
        raise MediaError(
            f"{container}: {suffix or 'this container'} cannot carry a soft subtitle track; "
            "use --burn, or remux to .mkv or .mp4 first"
        )
    if suffix == ".mkv" and track.path.suffix.lower() in ASS_SUFFIXES:
        return "ass"
    return _SOFT_CODEC[suffix]


# ---------------------------------------------------------------- what the ffmpeg in use can do


@functools.cache
def _listing(exe: str, flag: str) -> str:
    proc = subprocess.run([exe, "-hide_banner", flag], capture_output=True, text=True, check=False)
    return proc.stdout


def _has(exe: str, flag: str, name: str) -> bool:
    return any(line.split()[1:2] == [name] for line in _listing(exe, flag).splitlines() if line.strip())


@functools.cache
def ffmpeg_version(exe: str) -> str:
    """The version word of ``exe -version`` (e.g. ``5.1.6-0+deb12u1``)."""
    proc = subprocess.run([exe, "-version"], capture_output=True, text=True, check=False)
    words = proc.stdout.split()
    return words[2] if len(words) > 2 and words[:2] == ["ffmpeg", "version"] else "unknown version"


def _video_encoder(suffix: str) -> str:
    return "libvpx-vp9" if suffix == ".webm" else "libx264"


def check_burn_support(suffix: str = ".mp4") -> None:
    """Raise MediaError, naming the ffmpeg and what to install, unless it has libass and the video encoder."""
    exe = media.ffmpeg_exe()
    where = f"{exe} (ffmpeg {ffmpeg_version(exe)})"
    fix = (
        "install an ffmpeg built with it (Debian/Ubuntu: apt-get install ffmpeg) or use the imageio-ffmpeg "
        "binary: SUBGEN_FFMPEG=$(python -c 'import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())')"
    )
    if not _has(exe, "-filters", "subtitles"):
        raise MediaError(f"{where} has no 'subtitles' filter (built without libass), which burn-in needs; {fix}")
    encoder = _video_encoder(suffix)
    if not _has(exe, "-encoders", encoder):
        raise MediaError(f"{where} has no {encoder} encoder, which burn-in into {suffix} needs; {fix}")


# ---------------------------------------------------------------- atomic outputs


def _temp_output(final: Path) -> Path:
    """A hidden sibling of ``final`` with the same extension (ffmpeg picks the muxer from it)."""
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}{TEMP_MARK}{final.suffix}")


def remove_stale_outputs(final: Path) -> None:
    """Delete temp files a killed run left behind for ``final``."""
    if final.parent.is_dir():
        for stale in final.parent.glob(f".{glob.escape(final.name)}.*{TEMP_MARK}{glob.escape(final.suffix)}"):
            stale.unlink(missing_ok=True)


@contextmanager
def _atomic_output(final: Path, mode_from: Path) -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces ``final`` (with ``mode_from``'s permissions)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_outputs(final)
    tmp = _temp_output(final)
    try:
        yield tmp
        shutil.copymode(mode_from, tmp)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _verify(written: Path, source: media.MediaInfo, subtitles: int | None = None) -> None:
    """The new file must hold the source's picture and sound, as long as the source, before it replaces anything."""
    info = media.probe(written)
    problems = []
    if (info.video_streams, info.audio_streams) != (source.video_streams, source.audio_streams):
        problems.append(
            f"{info.video_streams} video/{info.audio_streams} audio streams instead of "
            f"{source.video_streams}/{source.audio_streams}"
        )
    if subtitles is not None and len(info.subtitle_languages) != subtitles:
        problems.append(f"{len(info.subtitle_languages)} subtitle streams instead of {subtitles}")
    if _duration_differs(info.duration, source.duration):
        problems.append(f"lasts {info.duration:.2f} s instead of {source.duration:.2f} s")
    if problems:
        raise MediaError(f"{source.path}: the subtitled copy is wrong ({'; '.join(problems)}); nothing was replaced")


def _duration_differs(written: float | None, source: float | None) -> bool:
    if written is None or source is None:
        return False
    return abs(written - source) > max(_DURATION_SLACK, 0.02 * source)


# ---------------------------------------------------------------- burn-in


def burn(video: Path, subtitles: Path, out: Path, options: VideoOptions) -> Path:
    """Render ``subtitles`` into the picture of ``video`` as ``out``: video re-encoded, audio copied."""
    source = _video_source(video)
    _check_has_cues(subtitles)
    check_burn_support(out.suffix.lower())
    with tempfile.TemporaryDirectory(prefix="subgen-burn-") as work, _atomic_output(out, video) as tmp:
        workdir = Path(work)
        # The filtergraph only ever sees fixed names inside ``workdir``: no user path is parsed by it.
        _stage_script(subtitles, workdir / "subs.ass", options.style)
        fonts = _stage_fonts(options.fonts_dir, workdir)
        graph = "subtitles=subs.ass" + (":fontsdir=fonts" if fonts else "")
        args = ["-y", "-loglevel", "error", "-i", media.ffmpeg_arg(video), "-map", "0:V:0", "-map", "0:a?"]
        args += ["-vf", graph, "-fps_mode", "passthrough", *_encoder_args(out.suffix.lower(), options)]
        args += ["-c:a", "copy", *_faststart(out), media.ffmpeg_arg(tmp)]
        media.run_ffmpeg(args, what=video, cwd=workdir, env=_fontconfig_env(options.fonts_dir, workdir))
        _verify(tmp, source)
    log.info("%s: burnt subtitles into %s", video, out)
    return out


def _video_source(video: Path) -> media.MediaInfo:
    info = media.probe(video)
    if info.video_streams == 0:
        raise MediaError(f"{video}: has no video stream to put subtitles into")
    return info


def _stage_script(subtitles: Path, target: Path, style: SubtitleStyle) -> None:
    """An ASS file is burnt with its own styles; any other subtitle file is restyled from its cues."""
    if subtitles.suffix.lower() in ASS_SUFFIXES:
        if style != SubtitleStyle():
            log.warning("%s: an ASS file keeps its own styles; the styling options do not apply", subtitles)
        shutil.copyfile(subtitles, target)
        return
    target.write_text(render_ass(visible(read_cues(subtitles)), style), encoding="utf-8")


def _check_has_cues(subtitles: Path) -> None:
    """A file to burn must show something: one without cues (or not subtitles at all) is an error, not a copy."""
    if not visible(read_cues(subtitles)):
        raise MediaError(f"{subtitles}: no cues to burn in; pass a subtitle file with text (srt, vtt, ass or json)")


def _stage_fonts(fonts_dir: Path | None, workdir: Path) -> bool:
    if fonts_dir is None:
        return False
    link = workdir / "fonts"
    try:
        link.symlink_to(fonts_dir.resolve(), target_is_directory=True)
    except OSError:  # no symlinks (e.g. Windows without the privilege)
        shutil.copytree(fonts_dir, link)
    return True


def _fontconfig_env(fonts_dir: Path | None, workdir: Path) -> dict[str, str] | None:
    """Make ``fonts_dir`` visible to fontconfig too: libass's own font folder is not searched for fallback glyphs."""
    if fonts_dir is None:
        return None
    base = os.environ.get("FONTCONFIG_FILE", "/etc/fonts/fonts.conf")
    conf = workdir / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        f'  <include ignore_missing="yes">{xml_escape(base)}</include>\n'
        f"  <dir>{xml_escape(str(fonts_dir.resolve()))}</dir>\n</fontconfig>\n",
        encoding="utf-8",
    )
    return {"FONTCONFIG_FILE": str(conf)}


def _encoder_args(suffix: str, options: VideoOptions) -> list[str]:
    if suffix == ".webm":
        # VP9 in constant-quality mode; crf 18 on x264's scale is roughly 31 on libvpx's 0-63 scale.
        return ["-c:v", "libvpx-vp9", "-crf", "31", "-b:v", "0", "-deadline", "good", "-cpu-used", "4", "-row-mt", "1"]
    return ["-c:v", "libx264", "-preset", options.x264_preset, "-crf", str(options.crf)]


def _faststart(out: Path) -> list[str]:
    return ["-movflags", "+faststart"] if out.suffix.lower() in _MOV_SUFFIXES else []


# ---------------------------------------------------------------- soft subtitle tracks


def embed(video: Path, tracks: list[Track], out: Path, *, replace_languages: bool = False) -> Path:
    """Mux ``tracks`` into ``video`` as ``out`` (which may be ``video`` itself): every stream copied, none re-encoded.

    With ``replace_languages`` the source's subtitle streams in the new tracks' languages are dropped first.
    """
    source = media.probe(video)
    tracks = _with_cues(tracks)
    if not tracks:
        raise MediaError(f"{video}: the subtitle files hold no cues, so there is no track to embed")
    matroska = out.suffix.lower() in _MATROSKA_SUFFIXES
    codecs = [soft_codec(out, track) for track in tracks]
    new_tags = [language_tag(track, out) for track in tracks]
    dropped = [i for i, lang in enumerate(source.subtitle_languages) if replace_languages and lang in new_tags]
    kept = len(source.subtitle_languages) - len(dropped)
    with tempfile.TemporaryDirectory(prefix="subgen-embed-") as work, _atomic_output(out, video) as tmp:
        inputs = [
            _track_input(track, Path(work) / f"track{n}.srt", source.duration) for n, track in enumerate(tracks)
        ]
        args = ["-y", "-loglevel", "error", "-i", media.ffmpeg_arg(video)]
        for path in inputs:
            args += ["-i", media.ffmpeg_arg(path)]
        args += ["-map", "0", *[a for i in dropped for a in ("-map", f"-0:s:{i}")]]
        args += [a for n in range(len(tracks)) for a in ("-map", f"{n + 1}:s:0")]
        args += ["-c", "copy", *_track_args(tracks, codecs, new_tags, kept, matroska), *_faststart(out)]
        media.run_ffmpeg([*args, media.ffmpeg_arg(tmp)], what=video)
        _verify(tmp, source, subtitles=kept + len(tracks))
    log.info("%s: embedded %d subtitle track(s) into %s", video, len(tracks), out)
    return out


def language_tag(track: Track, container: Path) -> str:
    """ISO 639-2 as the container expects it: bibliographic in Matroska and QuickTime (``ger``), else ``deu``."""
    bibliographic = container.suffix.lower() in _MATROSKA_SUFFIXES or container.suffix.lower() == ".mov"
    return iso639_2(track.language, bibliographic=bibliographic)


def _with_cues(tracks: list[Track]) -> list[Track]:
    """Tracks that have something to show (ffmpeg cannot read an empty subtitle file)."""
    kept = []
    for track in tracks:
        if visible(read_cues(track.path)):
            kept.append(track)
        else:
            log.warning("%s: no cues, not embedded", track.path)
    return kept


def _track_input(track: Track, fallback: Path, duration: float | None) -> Path:
    """The file ffmpeg reads for a track: srt, vtt and ass directly; anything else (subgen JSON), or a file with
    cues past the video's end (which the muxer refuses), as SRT with those cues clipped to the video."""
    cues = visible(read_cues(track.path))
    inside = clip_cues(cues, duration)
    if track.path.suffix.lower() in _DIRECT_INPUTS and inside == cues:
        return track.path
    if inside != cues:
        log.warning("%s: cues after the video's end (%.1f s) were clipped or dropped", track.path, duration)
    fallback.write_text(WRITERS["srt"].render(Document(inside, Transcript("", (), 0.0, ""))), encoding="utf-8")
    return fallback


def clip_cues(cues: tuple[Cue, ...], duration: float | None) -> tuple[Cue, ...]:
    """The cues that start before ``duration``, each ending at the latest there (all of them when unknown)."""
    if duration is None:
        return cues
    return tuple(replace(c, end=min(c.end, duration)) for c in cues if c.start < duration - 0.001)


def _track_args(tracks: list[Track], codecs: list[str], tags: list[str], first: int, matroska: bool) -> list[str]:
    args = []
    for n, (track, codec, tag) in enumerate(zip(tracks, codecs, tags, strict=True), start=first):
        args += [f"-c:s:{n}", codec, f"-metadata:s:s:{n}", f"language={tag}"]
        args += [f"-metadata:s:s:{n}", f"title={track.label}"]
        if not matroska:
            # MP4 players show the handler name as the track's name.
            args += [f"-metadata:s:s:{n}", f"handler_name={track.label}"]
    return args


# ---------------------------------------------------------------- the batch's video step

# The subtitle file a track is made from, by container: ASS keeps its styles in Matroska.
_PREFERRED = {".mkv": ("ass", "srt", "vtt", "json"), ".webm": ("vtt", "srt", "ass", "json")}
_DEFAULT_PREFERRED = ("srt", "vtt", "ass", "json")


def pass_track(outputs: tuple[Path, ...], task: str, container: Path) -> Track:
    """The track one decoding pass contributes: its best subtitle file for ``container``, language and title."""
    by_ext = {path.suffix.lower().lstrip("."): path for path in outputs}
    for ext in _PREFERRED.get(container.suffix.lower(), _DEFAULT_PREFERRED):
        if ext in by_ext:
            path = by_ext[ext]
            language = split_language_suffix(path.name)[1]
            title = f"{language_name(language)} (translated)" if task == "translate" else None
            return Track(path, language, title, task)
    raise MediaError(f"{container}: no srt, vtt, ass or json subtitles to put into the video; add srt to --format")


def ordered(tracks: list[Track], order: tuple[str, ...]) -> list[Track]:
    """Tracks in ``--tracks`` order; one file serving two passes (an English original) becomes one track."""
    names = {"transcribe": "original", "translate": "en"}
    if order:
        tracks = sorted(tracks, key=lambda t: order.index(names[t.task]))
    unique: dict[Path, Track] = {}
    for track in tracks:
        if track.path not in unique or track.task == "transcribe":
            unique[track.path] = track
    return list(unique.values())


def subtitled_video(options: RunOptions, source: Path, base: Path, tracks: list[Track]) -> tuple[Path | None, bool]:
    """The item's ``--burn``/``--embed`` output: (the video, or None when there is none; whether it was made now)."""
    info = media.probe(source)
    if info.video_streams == 0:
        log.warning("%s: no video stream, so only the subtitle files were written", source)
        return None, False
    tracks = _with_cues(tracks)
    if not tracks:
        log.warning("%s: no speech was subtitled, so no video was written", source)
        return None, False
    if options.video.burn:
        out = burned_path(base, source)
        if out.is_file() and not options.output.overwrite:
            log.info("%s: %s exists, skipping (use --overwrite to redo)", source, out.name)
            return out, False
        return burn(source, tracks[0].path, out, options.video), True
    out = source if options.video.in_place else subtitled_path(base, source.suffix)
    if not options.output.overwrite and _embedded_already(out, info, tracks, options.video.in_place):
        log.info("%s: subtitles already embedded in %s, skipping (use --overwrite to redo)", source, out.name)
        return out, False
    return embed(source, tracks, out, replace_languages=options.video.in_place), True


def _embedded_already(out: Path, info: media.MediaInfo, tracks: list[Track], in_place: bool) -> bool:
    """A finished ``.subtitled`` file, or (in place) a source that has a track in every new track's language."""
    if not in_place:
        return out.is_file()
    return all(language_tag(t, out) in info.subtitle_languages for t in tracks)
