"""Stage 2, prepare: one item's file (downloaded if a URL), which passes are unfinished, and for those its audio
and speech windows. Runs on the prefetch thread, a few items ahead of the decoder."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from subgen.audio import media
from subgen.audio.speech import Window, plan_windows
from subgen.audio.vad import SpeechActivity, speech_activity
from subgen.core.errors import InputError, MediaError, SubgenError
from subgen.core.options import RunOptions, TranscribeOptions
from subgen.core.paths import (
    check_folder,
    find_existing,
    languages_on_disk,
    output_base,
    recorded_language,
    remove_stale_temps,
)
from subgen.core.results import ItemResult, ItemStatus
from subgen.sources.download import Downloader
from subgen.sources.inputs import MediaItem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pass:
    """One subtitle pass over an item (a ``--tracks`` entry): its options, and its outputs if already written.

    ``unverified`` holds complete sets of outputs in languages that subgen did not record writing: they count
    only once the detected language matches one of them (``movie.de.srt`` from elsewhere must not stop
    ``movie.en.srt`` from being made).
    """

    options: TranscribeOptions
    base: Path
    existing: dict[str, Path] | None
    unverified: dict[str, dict[str, Path]] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """True when every requested output of this pass exists."""
        return self.existing is not None


@dataclass(frozen=True)
class Audio:
    """An item's decoded audio with what the probe saw; ``speech`` is None when VAD is off (decode it all)."""

    info: media.MediaInfo
    clip: media.AudioClip
    speech: SpeechActivity | None
    windows: tuple[Window, ...]
    warnings: tuple[str, ...] = ()


SHORT_AUDIO = 0.9
"""Decoded audio shorter than this share of the container's duration (and by more than a second) is reported."""


@dataclass(frozen=True)
class Ready:
    """An item with at least one unfinished pass, its audio extracted into ``scratch``."""

    index: int
    item: MediaItem
    path: Path
    passes: tuple[Pass, ...]
    audio: Audio
    scratch: Path

    @property
    def todo(self) -> tuple[Pass, ...]:
        """The passes whose subtitles still have to be made."""
        return tuple(p for p in self.passes if not p.done)


@dataclass(frozen=True)
class Skipped:
    """An item whose every pass is written already (nothing to decode, no model needed)."""

    index: int
    item: MediaItem
    path: Path
    passes: tuple[Pass, ...]


@dataclass(frozen=True)
class Failed:
    """An item that could not be prepared, with its one-line reason."""

    index: int
    item: MediaItem
    result: ItemResult


Prepared = Ready | Skipped | Failed


@dataclass(frozen=True)
class PrepareContext:
    """What every item's preparation shares: the run's options, where outputs mirror from, and the downloader."""

    options: RunOptions
    mirror: Path | None
    downloader: Downloader | None


def forced_language(options: TranscribeOptions) -> str | None:
    """The subtitle language known before decoding: English for translations, else ``--language``."""
    return "en" if options.task == "translate" else options.language


def local_path(item: MediaItem, downloader: Downloader | None) -> Path:
    """The item's file on this machine (downloaded first when it is a URL)."""
    if item.problem:
        raise InputError(item.problem)
    if item.url is not None:
        if downloader is None:
            raise InputError(f"{item.source}: URLs need a downloader; pass it to the batch")
        return downloader.fetch(item.url)
    if item.path is None:
        raise InputError(f"{item.source}: neither a path nor a URL")
    return item.path


def item_base(item: MediaItem, path: Path, options: RunOptions, mirror: Path | None) -> Path:
    """Where the item's ``<stem>.<lang>.<ext>`` files go (without language and extension)."""
    if item.is_url:
        return output_base(path, None, options.output.output_dir, None)
    return output_base(path, item.root, options.output.output_dir, mirror)


def plan_passes(base: Path, options: RunOptions) -> tuple[Pass, ...]:
    """Every pass of the run for one item, each with its outputs if they exist already (unless ``--overwrite``)."""
    return tuple(_plan_pass(base, opts, options) for opts in options.passes())


def _plan_pass(base: Path, opts: TranscribeOptions, options: RunOptions) -> Pass:
    formats = options.output.formats
    if options.output.overwrite:
        return Pass(opts, base, None)
    language = forced_language(opts) or recorded_language(base)
    if language is not None and (existing := find_existing(base, formats, language)):
        return Pass(opts, base, existing)
    if forced_language(opts) is not None:
        return Pass(opts, base, None)
    return Pass(opts, base, None, languages_on_disk(base, formats))


def load_audio(path: Path, scratch: Path, options: TranscribeOptions) -> Audio:
    """The file's audio as a raw file in ``scratch``, its probe, and (with VAD) its speech and decode windows.

    Without ``audio_track``, a file whose default track holds no speech has its other tracks tried in turn
    (a commentary or a second language often comes first); the first with speech is used.
    """
    try:
        scratch.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        message = f"{scratch}: cannot create the scratch folder ({exc.strerror}); set TMPDIR to a writable disk"
        raise MediaError(message) from exc
    info, clip = media.extract_audio_file(path, scratch, options.audio_track)
    warnings = _short_audio(path, info, clip)
    if not options.vad:
        return Audio(info, clip, None, (), warnings)
    activity = speech_activity(clip)
    if not activity.regions and options.audio_track is None and info.audio_streams > 1:
        info, clip, activity = _track_with_speech(path, scratch, info, clip, activity)
    windows = plan_windows(activity.regions, activity.spans, limit=options.window)
    return Audio(info, clip, activity, windows, warnings)


def _track_with_speech(
    path: Path, scratch: Path, info: media.MediaInfo, clip: media.AudioClip, activity: SpeechActivity
) -> tuple[media.MediaInfo, media.AudioClip, SpeechActivity]:
    """The first other audio track in which VAD hears speech (the default one's results when none has)."""
    for track in range(info.audio_streams):
        if track == info.default_audio:
            continue
        other_info, other = media.extract_audio_file(path, scratch, track)
        found = speech_activity(other)
        if found.regions:
            log.warning("%s: no speech on audio track %d, using track %d (--audio-track to choose)",
                        path, info.default_audio, track)  # fmt: skip
            return other_info, other, found
    return info, clip, activity


def _short_audio(path: Path, info: media.MediaInfo, clip: media.AudioClip) -> tuple[str, ...]:
    """A warning when the decoded audio ends well before the container's duration and the file looks cut short
    (ffmpeg said so, or there is no picture that could simply run longer than the sound)."""
    if info.duration is None or clip.duration >= SHORT_AUDIO * info.duration or info.duration - clip.duration < 1:
        return ()
    if not info.damaged and info.video_streams > 0:
        return ()
    message = (
        f"{path}: only {clip.duration:.1f} s of {info.duration:.1f} s decoded; the file may be truncated "
        "(re-copy or re-download it)"
    )
    log.warning("%s", message)
    return (message,)


def prepare(index: int, item: MediaItem, context: PrepareContext, scratch: Path) -> Prepared:
    """Make one item ready for decoding; any failure, a bug included, becomes ``Failed`` for this item only."""
    try:
        return _prepare(index, item, context, scratch)
    except SubgenError as exc:
        log.error("%s", exc)
        return Failed(index, item, ItemResult.failed(item.source, str(exc)))
    except Exception as exc:  # a bug must not lose the rest of the batch
        log.exception("%s: unexpected error", item.source)
        return Failed(index, item, ItemResult.failed(item.source, f"{item.source}: internal error: {exc!r}"))


def _prepare(index: int, item: MediaItem, context: PrepareContext, scratch: Path) -> Prepared:
    path = local_path(item, context.downloader)
    base = item_base(item, path, context.options, context.mirror)
    remove_stale_temps(base.parent, base.name)
    passes = plan_passes(base, context.options)
    if all(p.done for p in passes):
        return Skipped(index, item, path, passes)
    check_folder(base.parent, "the subtitles' folder")  # before the work is paid for
    audio = load_audio(path, scratch, context.options.transcribe)
    return Ready(index, item, path, passes, audio, scratch)


def skipped_result(item: MediaItem, passes: tuple[Pass, ...]) -> ItemResult:
    """The result of an item whose outputs all exist."""
    log.info("%s: subtitles exist, skipping (use --overwrite to redo)", item.source)
    outputs = tuple(dict.fromkeys(p for ps in passes if ps.existing for p in ps.existing.values()))
    return ItemResult(item.source, ItemStatus.SKIPPED, outputs=outputs)
