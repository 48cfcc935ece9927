"""Run a batch: download, extract, transcribe, write; per-item results, one failure never stops it."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from subgen import media
from subgen.config import CueOptions, RunOptions, TranscribeOptions
from subgen.cues import transcript_to_cues
from subgen.engines.base import Engine, ProgressFn, Transcript
from subgen.errors import MediaError, SubgenError
from subgen.inputs import MediaItem, mirror_base, output_base
from subgen.speech import align_to_voice, decode_speech
from subgen.suppress import suppress
from subgen.vad import speech_activity
from subgen.writers import (
    WRITERS,
    Document,
    output_paths,
    remove_stale_temps,
    split_language_suffix,
    write_outputs,
)

log = logging.getLogger(__name__)

OK, SKIPPED, FAILED = "ok", "skipped", "failed"


@dataclass(frozen=True)
class ItemResult:
    """What happened to one item."""

    source: str
    status: str
    outputs: tuple[Path, ...] = ()
    error: str | None = None
    audio_seconds: float | None = None
    language: str | None = None
    wall_seconds: float = 0.0

    @property
    def realtime_factor(self) -> float | None:
        """Audio seconds per wall second (higher is faster); None when nothing was transcribed."""
        if not self.audio_seconds or self.status != OK or self.wall_seconds <= 0:
            return None
        return self.audio_seconds / self.wall_seconds


@dataclass(frozen=True)
class ItemStarted:
    """Progress event: work on item ``index`` (0-based) of ``total`` begins."""

    index: int
    total: int
    source: str


@dataclass(frozen=True)
class AudioProgress:
    """Progress event: ``done`` of ``total`` audio seconds of the current item decoded."""

    done: float
    total: float


@dataclass(frozen=True)
class ItemFinished:
    """Progress event: an item ended (ok, skipped or failed)."""

    result: ItemResult


@dataclass(frozen=True)
class DownloadProgress:
    """Progress event: ``done`` of ``total`` bytes (None when unknown) of the current URL downloaded."""

    done: float
    total: float | None


Event = ItemStarted | AudioProgress | ItemFinished | DownloadProgress
EventFn = Callable[[Event], None]


@dataclass
class _EngineSlot:
    """Loads the engine on first use, once; remembers a load failure so later items fail fast."""

    factory: Callable[[], Engine]
    engine: Engine | None = None
    error: SubgenError | None = None
    load_seconds: float = 0.0

    def get(self) -> Engine:
        if self.error is not None:
            raise self.error
        if self.engine is None:
            started = time.monotonic()
            try:
                self.engine = self.factory()
            except SubgenError as exc:
                self.error = exc
                raise
            finally:
                self.load_seconds = time.monotonic() - started
        return self.engine


@dataclass
class Batch:
    """One run over a list of items with fixed options."""

    options: RunOptions
    engine_factory: Callable[[], Engine]
    on_event: EventFn = lambda event: None
    _slot: _EngineSlot = field(init=False)
    _base: Path | None = field(init=False, default=None)
    _infos: dict[str, dict] = field(init=False, default_factory=dict)
    _downloads: dict[str, Path] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._slot = _EngineSlot(self.engine_factory)

    @property
    def engine(self) -> Engine | None:
        """The engine, if it was needed and loaded."""
        return self._slot.engine

    @property
    def load_seconds(self) -> float:
        """Time spent loading the engine (0 when no item needed it)."""
        return self._slot.load_seconds

    def run(self, items: list[MediaItem]) -> list[ItemResult]:
        """Process every item in order; returns one result per item."""
        items = self._expand_urls(items)
        self._base = mirror_base(items)
        results = []
        for index, item in enumerate(items):
            self.on_event(ItemStarted(index, len(items), item.source))
            result = self._process(item)
            results.append(result)
            self.on_event(ItemFinished(result))
        return results

    def _expand_urls(self, items: list[MediaItem]) -> list[MediaItem]:
        if not any(i.is_url and not i.problem for i in items):
            return items
        from subgen.download import expand_url

        expanded: list[MediaItem] = []
        for item in items:
            expanded.extend(expand_url(item, self._infos) if item.is_url and not item.problem else [item])
        return expanded

    def _process(self, item: MediaItem) -> ItemResult:
        started, loaded_before = time.monotonic(), self._slot.load_seconds
        try:
            result = self._subtitle_item(item)
        except SubgenError as exc:
            log.error("%s", exc)
            result = ItemResult(item.source, FAILED, error=str(exc))
        except Exception as exc:  # a bug must not lose the rest of the batch
            log.exception("%s: unexpected error", item.source)
            result = ItemResult(item.source, FAILED, error=f"{item.source}: internal error: {exc!r}")
        # The one-off model load is reported by the batch, not charged to the item that triggered it.
        load = self._slot.load_seconds - loaded_before
        return replace(result, wall_seconds=time.monotonic() - started - load)

    def _local_path(self, item: MediaItem) -> Path:
        if item.problem:
            raise SubgenError(item.problem)
        if item.is_url:
            return self._download(item)
        assert item.path is not None
        return item.path

    def _transcribe_item(self, item: MediaItem) -> ItemResult:
        path = self._local_path(item)
        out = self.options.output
        root = None if item.is_url else item.root
        base = output_base(path, root, out.output_dir, None if item.is_url else self._base)
        remove_stale_temps(base.parent, base.name)
        existing = find_existing(base, out.formats, self._forced_language())
        if existing and not out.overwrite:
            log.info("%s: subtitles exist, skipping (use --overwrite to redo)", item.source)
            return ItemResult(item.source, SKIPPED, outputs=tuple(existing.values()))
        info, clip = self._audio(path)
        transcript = self._transcript(clip)
        cues = transcript_to_cues(transcript, self._cue_options(info))
        paths = output_paths(base, transcript.language, out.formats)
        written = write_outputs(Document(tuple(cues), transcript, self.options.video.style), paths)
        return ItemResult(
            item.source, OK, outputs=tuple(written), audio_seconds=clip.duration, language=transcript.language
        )

    def _transcript(self, clip: media.AudioClip) -> Transcript:
        """Decode ``clip`` (with VAD: only its speech; no speech, no engine) and remove hallucinations."""
        opts, total = self.options.transcribe, clip.duration

        def report(done: float) -> None:
            self.on_event(AudioProgress(min(done, total), total))

        def decode(audio: media.AudioClip, progress: ProgressFn) -> Transcript:
            return self._slot.get().transcribe(audio, opts, progress)

        if not opts.vad:
            transcript = decode(clip, report)
            report(total)
            return suppress(transcript, None)
        activity = speech_activity(clip)
        regions = activity.regions
        transcript = decode_speech(clip, regions, decode, report) if regions else self._silent(clip)
        report(total)
        return align_to_voice(suppress(transcript, regions), activity.spans)

    def _silent(self, clip: media.AudioClip) -> Transcript:
        """The transcript of a clip without speech: no language can be detected, so the forced one, else en."""
        opts = self.options.transcribe
        return Transcript(self._forced_language() or "en", (), clip.duration, opts.model, opts.task)

    def _download(self, item: MediaItem) -> Path:
        """The item's file, downloaded once per batch (with the picture when a video output needs it)."""
        from subgen.download import download

        assert item.url is not None
        if item.url not in self._downloads:
            target = self.options.download_dir or self.options.output.output_dir or Path.cwd()
            self._downloads[item.url] = download(
                item.url,
                target,
                self._download_progress,
                video=self.options.video.needs_picture,
                info=self._infos.get(item.url),
            )
        return self._downloads[item.url]

    def _download_progress(self, status: dict) -> None:
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        self.on_event(DownloadProgress(float(status.get("downloaded_bytes") or 0), total))

    def _subtitle_item(self, item: MediaItem) -> ItemResult:
        """Subtitles from every pass (``--tracks``), then the subtitled video when --burn or --embed asks."""
        passes = self.options.passes()
        results = [self._pass(options)._transcribe_item(item) for options in passes]
        merged = _merge(results)
        if not self.options.video.active:
            return merged
        from subgen import video

        path = self._local_path(item)
        base = self._output_base(item, path)
        tracks = [video.pass_track(r.outputs, opts.task, path) for opts, r in zip(passes, results, strict=True)]
        written, made = video.subtitled_video(self.options, path, base, video.ordered(tracks, self.options.tracks))
        if written is None:
            return merged
        return replace(merged, status=OK if made else merged.status, outputs=(*merged.outputs, written))

    def _output_base(self, item: MediaItem, path: Path) -> Path:
        if item.is_url:
            return output_base(path, None, self.options.output.output_dir, None)
        return output_base(path, item.root, self.options.output.output_dir, self._base)

    def _pass(self, transcribe: TranscribeOptions) -> Batch:
        """This batch decoding with ``transcribe`` (a --tracks pass): same engine, output base and events."""
        if transcribe == self.options.transcribe:
            return self
        clone = copy.copy(self)
        clone.options = replace(self.options, transcribe=transcribe)
        return clone

    def _forced_language(self) -> str | None:
        opts = self.options.transcribe
        return "en" if opts.task == "translate" else opts.language

    def _cue_options(self, info: media.MediaInfo) -> CueOptions:
        """The cue limits with gaps measured in this video's frames (the preset's 25 fps for audio)."""
        return replace(self.options.cues, fps=info.fps) if info.fps else self.options.cues

    @staticmethod
    def _audio(path: Path) -> tuple[media.MediaInfo, media.AudioClip]:
        info = media.probe(path)
        if info.audio_streams == 0:
            raise MediaError(f"{path}: has no audio stream, so there is nothing to transcribe")
        return info, media.extract_audio(path)


def _merge(results: list[ItemResult]) -> ItemResult:
    """One item's result from its passes: ok if any pass did work, the first pass's language."""
    outputs = tuple(dict.fromkeys(path for r in results for path in r.outputs))
    seconds = [r.audio_seconds for r in results if r.audio_seconds]
    status = OK if any(r.status == OK for r in results) else SKIPPED
    language = next((r.language for r in results if r.language), None)
    audio = max(seconds, default=None)
    return replace(results[0], status=status, outputs=outputs, audio_seconds=audio, language=language)


def find_existing(base: Path, formats: tuple[str, ...], language: str | None) -> dict[str, Path] | None:
    """The finished outputs of an item (every format, one language), or None if any is missing."""
    candidates = [language] if language else _languages_on_disk(base, formats[0])
    for lang in candidates:
        paths = output_paths(base, lang, formats)
        if all(p.is_file() for p in paths.values()):
            return paths
    return None


def _languages_on_disk(base: Path, fmt: str) -> list[str]:
    if not base.parent.is_dir():
        return []
    ext = "." + WRITERS[fmt].extension
    found = []
    for path in base.parent.iterdir():
        stem, lang, suffix = split_language_suffix(path.name)
        if stem == base.name and lang and suffix == ext:
            found.append(lang)
    return sorted(found)
