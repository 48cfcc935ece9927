"""Run a batch: download, extract, transcribe, write; per-item results, one failure never stops it."""

from __future__ import annotations

import functools
import logging
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

import numpy as np

from subgen import media
from subgen.batching import DecodeJob, WindowBatcher
from subgen.config import CueOptions, RunOptions, TranscribeOptions
from subgen.cues import transcript_to_cues
from subgen.engines.base import Engine, Transcript
from subgen.errors import SubgenError
from subgen.inputs import MediaItem, mirror_base, output_base
from subgen.speech import Window, align_to_voice, plan_windows
from subgen.suppress import suppress
from subgen.vad import SpeechActivity, speech_activity
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
PREFETCH_ITEMS = 2
STOP_WAIT = 2.0
"""Items prepared ahead of the decoder (downloaded, audio extracted to disk, speech found)."""


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


T = TypeVar("T")
R = TypeVar("R")
_END = object()


class Prefetcher(Generic[T, R]):
    """Runs ``work`` over ``items`` in a background thread, at most ``depth`` results ahead of the consumer.

    Iterating yields the results in input order. Leaving the ``with`` block (also on Ctrl-C) stops the
    thread after the item it is on; an exception that escapes ``work`` is re-raised in the consumer.
    """

    def __init__(self, items: Sequence[T], work: Callable[[T], R], depth: int) -> None:
        self._items, self._work = items, work
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="subgen-prefetch", daemon=True)

    def __enter__(self) -> Iterator[R]:
        self._thread.start()
        return self._results()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()  # a producer waiting on a full queue notices within 0.1 s
        # A download or extraction in progress is not waited for long: the thread is a daemon.
        self._thread.join(timeout=STOP_WAIT)

    def _produce(self) -> None:
        try:
            for item in self._items:
                if self._stop.is_set():
                    return
                self._put(self._work(item))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)
        self._put(_END)

    def _put(self, value: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return
            except queue.Full:
                continue

    def _results(self) -> Iterator[R]:
        while True:
            value = self._queue.get()
            if value is _END:
                return
            if isinstance(value, BaseException):
                raise value
            yield value


@dataclass
class _Pass:
    """One subtitle pass over an item (a --tracks entry): its options, and its outputs if already finished."""

    options: TranscribeOptions
    base: Path
    existing: dict[str, Path] | None


@dataclass
class _Prepared:
    """An item made ready for decoding by the prefetch thread: file, outputs to skip, audio, speech windows."""

    index: int
    item: MediaItem
    passes: list[_Pass] = field(default_factory=list)
    path: Path | None = None
    info: media.MediaInfo | None = None
    clip: media.AudioClip | None = None
    activity: SpeechActivity | None = None
    windows: tuple[Window, ...] = ()
    failure: ItemResult | None = None
    scratch: Path | None = None
    detected: str | None = None

    @property
    def todo(self) -> list[_Pass]:
        """The passes whose subtitles still have to be made."""
        return [p for p in self.passes if p.existing is None]


@dataclass(eq=False)
class _InFlight:
    """An item between its first window and its last pass: pass results gather here."""

    prepared: _Prepared
    started: float
    loaded_before: float
    results: dict[int, ItemResult] = field(default_factory=dict)


@dataclass
class Batch:
    """One run over a list of items with fixed options.

    A background thread downloads, extracts audio and finds speech a few items ahead while the engine
    decodes; the speech windows of consecutive items share decoder batches (``subgen.batching``).
    """

    options: RunOptions
    engine_factory: Callable[[], Engine]
    on_event: EventFn = lambda event: None
    prefetch: int = PREFETCH_ITEMS
    _slot: _EngineSlot = field(init=False)
    _base: Path | None = field(init=False, default=None)
    _infos: dict[str, dict] = field(init=False, default_factory=dict)
    _downloads: dict[str, Path] = field(init=False, default_factory=dict)
    _events: threading.Lock = field(init=False, default_factory=threading.Lock)

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

    def _emit(self, event: Event) -> None:
        with self._events:  # the prefetch thread reports download progress too
            self.on_event(event)

    def run(self, items: list[MediaItem]) -> list[ItemResult]:
        """Process every item; returns one result per item, in input order."""
        items = self._expand_urls(items)
        self._base = mirror_base(items)
        results: list[ItemResult | None] = [None] * len(items)
        batcher = WindowBatcher(self._slot.get)
        with tempfile.TemporaryDirectory(prefix="subgen-audio-") as scratch:
            prepare = functools.partial(self._prepare, total=len(items), scratch=Path(scratch))
            with Prefetcher(list(enumerate(items)), prepare, self.prefetch) as ready:
                for prepared in ready:
                    self._start(prepared, len(items), batcher, results)
                    batcher.pump()
                batcher.pump(flush=True)
        return [r for r in results if r is not None]

    def _expand_urls(self, items: list[MediaItem]) -> list[MediaItem]:
        if not any(i.is_url and not i.problem for i in items):
            return items
        from subgen.download import expand_url

        expanded: list[MediaItem] = []
        for item in items:
            expanded.extend(expand_url(item, self._infos) if item.is_url and not item.problem else [item])
        return expanded

    # --- prefetch thread: everything before the engine -------------------------------------------------

    def _prepare(self, entry: tuple[int, MediaItem], total: int, scratch: Path) -> _Prepared:
        index, item = entry
        prepared = _Prepared(index, item)
        try:
            self._find_work(prepared, scratch / str(index))
        except SubgenError as exc:
            log.error("%s", exc)
            prepared.failure = ItemResult(item.source, FAILED, error=str(exc))
        except Exception as exc:  # a bug must not lose the rest of the batch
            log.exception("%s: unexpected error", item.source)
            prepared.failure = ItemResult(item.source, FAILED, error=f"{item.source}: internal error: {exc!r}")
        return prepared

    def _find_work(self, prepared: _Prepared, scratch: Path) -> None:
        """Which passes are unfinished, and for those the audio and its speech windows."""
        path = prepared.path = self._local_path(prepared.item)
        base = self._output_base(prepared.item, path)
        remove_stale_temps(base.parent, base.name)
        for options in self.options.passes():
            existing = (
                None
                if self.options.output.overwrite
                else find_existing(base, self.options.output.formats, _forced_language(options))
            )
            prepared.passes.append(_Pass(options, base, existing))
        if not prepared.todo:
            return
        scratch.mkdir(parents=True, exist_ok=True)
        prepared.scratch = scratch
        prepared.info, clip = media.extract_audio_file(path, scratch)
        prepared.clip = clip
        if self.options.transcribe.vad:
            prepared.activity = speech_activity(clip)
            prepared.windows = plan_windows(
                prepared.activity.regions, prepared.activity.spans, limit=self.options.transcribe.window
            )

    # --- main thread: decoding and writing -----------------------------------------------------------

    def _start(self, prepared: _Prepared, total: int, batcher: WindowBatcher, results: list[ItemResult | None]) -> None:
        item = prepared.item
        self._emit(ItemStarted(prepared.index, total, item.source))
        flight = _InFlight(prepared, time.monotonic(), self._slot.load_seconds)
        if prepared.failure is not None:
            self._finish_item(flight, results, prepared.failure)
            return
        for number, plan in enumerate(prepared.passes):
            if plan.existing is not None:
                log.info("%s: subtitles exist, skipping (use --overwrite to redo)", item.source)
                flight.results[number] = ItemResult(item.source, SKIPPED, outputs=tuple(plan.existing.values()))
        if not prepared.todo:
            self._finish_item(flight, results, None)
            return
        for number, plan in enumerate(prepared.passes):
            if plan.existing is None:
                self._start_pass(flight, number, plan, batcher, results)

    def _start_pass(
        self, flight: _InFlight, number: int, plan: _Pass, batcher: WindowBatcher, results: list[ItemResult | None]
    ) -> None:
        prepared = flight.prepared
        assert prepared.clip is not None
        opts = plan.options

        def done(job: DecodeJob) -> None:
            self._pass_done(flight, number, job, results)

        try:
            if not opts.vad:
                job = self._decode_whole(prepared.clip, opts)
            elif not prepared.windows:
                job = DecodeJob(prepared.clip, opts, _forced_language(opts) or "en", ())
            else:
                language = self._language(prepared, opts)
                job = DecodeJob(prepared.clip, opts, language, prepared.activity.spans, self._progress, done)
                batcher.add(job, prepared.windows)
                return
        except SubgenError as exc:
            job = DecodeJob(prepared.clip, opts, "en", (), error=exc)
        done(job)

    def _language(self, prepared: _Prepared, opts: TranscribeOptions) -> str:
        """The spoken language: given, else detected once per item from its first speech window."""
        if opts.language:
            return opts.language
        if prepared.detected is None:
            assert prepared.clip is not None
            prepared.detected = self._slot.get().detect_language(prepared.windows[0].samples(prepared.clip))
        return prepared.detected

    def _decode_whole(self, clip: media.AudioClip, opts: TranscribeOptions) -> DecodeJob:
        """--no-vad: the engine decodes the whole clip sequentially (and hears everything)."""
        total = clip.duration

        def report(done: float) -> None:
            self._emit(AudioProgress(min(done, total), total))

        whole = media.AudioClip(np.asarray(clip.samples[0 : len(clip.samples)]), clip.source, clip.sample_rate)
        transcript = self._slot.get().transcribe(whole, opts, report)
        job = DecodeJob(clip, opts, transcript.language, ())
        job.segments.extend(transcript.segments)
        return job

    def _progress(self, job: DecodeJob) -> None:
        self._emit(AudioProgress(min(job.decoded_until, job.clip.duration), job.clip.duration))

    def _pass_done(self, flight: _InFlight, number: int, job: DecodeJob, results: list[ItemResult | None]) -> None:
        prepared = flight.prepared
        try:
            if job.error is not None:
                raise job.error
            flight.results[number] = self._write_pass(prepared, prepared.passes[number], job)
        except SubgenError as exc:
            log.error("%s", exc)
            flight.results[number] = ItemResult(prepared.item.source, FAILED, error=str(exc))
        except Exception as exc:  # a bug must not lose the rest of the batch
            log.exception("%s: unexpected error", prepared.item.source)
            error = f"{prepared.item.source}: internal error: {exc!r}"
            flight.results[number] = ItemResult(prepared.item.source, FAILED, error=error)
        if len(flight.results) == len(prepared.passes):
            self._finish_item(flight, results, None)

    def _write_pass(self, prepared: _Prepared, plan: _Pass, job: DecodeJob) -> ItemResult:
        clip, opts = job.clip, job.options
        language = "en" if opts.task == "translate" else job.language
        transcript = Transcript(language, job.sorted_segments(), clip.duration, opts.model, opts.task)
        if opts.vad:
            regions = prepared.activity.regions if prepared.activity else ()
            spans = prepared.activity.spans if prepared.activity else ()
            transcript = align_to_voice(suppress(transcript, regions), spans)
        else:
            transcript = suppress(transcript, None)
        self._emit(AudioProgress(clip.duration, clip.duration))
        assert prepared.info is not None
        cues = transcript_to_cues(transcript, self._cue_options(prepared.info))
        paths = output_paths(plan.base, transcript.language, self.options.output.formats)
        written = write_outputs(Document(tuple(cues), transcript, self.options.video.style), paths)
        return ItemResult(
            prepared.item.source, OK, outputs=tuple(written), audio_seconds=clip.duration, language=transcript.language
        )

    def _finish_item(self, flight: _InFlight, results: list[ItemResult | None], failure: ItemResult | None) -> None:
        prepared = flight.prepared
        if failure is not None:
            result = failure
        else:
            passes = [flight.results[n] for n in range(len(prepared.passes))]
            failed = next((r for r in passes if r.status == FAILED), None)
            result = failed or self._video_step(prepared, passes)
        # The one-off model load is reported by the batch, not charged to the item that triggered it.
        load = self._slot.load_seconds - flight.loaded_before
        result = replace(result, wall_seconds=max(0.0, time.monotonic() - flight.started - load))
        results[prepared.index] = result
        if prepared.scratch is not None:  # the item's audio file: disk is freed as items finish
            shutil.rmtree(prepared.scratch, ignore_errors=True)
        prepared.clip = None
        self._emit(ItemFinished(result))

    def _video_step(self, prepared: _Prepared, passes: list[ItemResult]) -> ItemResult:
        """The subtitled video when --burn or --embed asks (the subtitles are already written)."""
        merged = _merge(passes)
        if not self.options.video.active:
            return merged
        from subgen import video

        path, item = prepared.path, prepared.item
        assert path is not None
        try:
            base = self._output_base(item, path)
            options = [p.options for p in prepared.passes]
            tracks = [video.pass_track(r.outputs, o.task, path) for o, r in zip(options, passes, strict=True)]
            written, made = video.subtitled_video(self.options, path, base, video.ordered(tracks, self.options.tracks))
        except SubgenError as exc:
            log.error("%s", exc)
            return ItemResult(item.source, FAILED, error=str(exc))
        if written is None:
            return merged
        return replace(merged, status=OK if made else merged.status, outputs=(*merged.outputs, written))

    def _local_path(self, item: MediaItem) -> Path:
        if item.problem:
            raise SubgenError(item.problem)
        if item.is_url:
            return self._download(item)
        assert item.path is not None
        return item.path

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
        self._emit(DownloadProgress(float(status.get("downloaded_bytes") or 0), total))

    def _output_base(self, item: MediaItem, path: Path) -> Path:
        if item.is_url:
            return output_base(path, None, self.options.output.output_dir, None)
        return output_base(path, item.root, self.options.output.output_dir, self._base)

    def _cue_options(self, info: media.MediaInfo) -> CueOptions:
        """The cue limits with gaps measured in this video's frames (the preset's 25 fps for audio)."""
        return replace(self.options.cues, fps=info.fps) if info.fps else self.options.cues


def _forced_language(opts: TranscribeOptions) -> str | None:
    """The subtitle language known before decoding: English for translations, else ``--language``."""
    return "en" if opts.task == "translate" else opts.language


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
