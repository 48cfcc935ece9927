"""The one worker thread: it loads the engine once, keeps it warm, and runs queued jobs one after another.

Decoding is CPU-heavy and blocking, so it never runs in the event loop: request handlers store a job and wake
the worker, then wait on the hub. Language detection (``/detect-language``) is served between jobs, ahead of the
queue, and identical requests in flight share one detection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import subgen.api as api
from subgen.asr.engines.base import Engine
from subgen.core.errors import SubgenError
from subgen.pipeline.prepare import load_audio
from subgen.pipeline.scratch import scratch_dir
from subgen.service.config import ServiceConfig
from subgen.service.hub import Hub
from subgen.service.runner import Interrupt, JobRun, Outcome
from subgen.service.store import Job, JobState, JobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Detection:
    """A detected language and how sure the model is (None when the engine does not say)."""

    language: str
    confidence: float | None


class Worker:
    """Owns the engine; ``state`` is ``loading``, then ``ready`` (or ``error`` with ``error`` set)."""

    DETECTIONS_KEPT = 256

    def __init__(self, config: ServiceConfig, store: JobStore, hub: Hub, on_final: Callable[[Job], None]) -> None:
        self.config, self.store, self.hub, self.on_final = config, store, hub, on_final
        self.state = "loading"
        self.error: str | None = None
        self.load_seconds = 0.0
        self.current: str | None = None
        self._options = config.transcribe_options()
        self._wake = threading.Event()
        self._stopping = False
        self._lock = threading.Lock()
        self._detect_queue: deque[tuple[str, Path, Future[Detection]]] = deque()
        self._detecting: dict[str, Future[Detection]] = {}
        self._detected: OrderedDict[str, Detection] = OrderedDict()
        self._thread = threading.Thread(target=self._main, name="subgen-worker", daemon=True)

    def start(self) -> None:
        """Start the thread (it loads the engine first)."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current progress step; a job cut short goes back to the queue for the next start."""
        self._stopping = True
        if self.current is not None:
            log.info(
                "stopping: job %s goes back to the queue at its next step", self.current, extra={"job": self.current}
            )
        self._wake.set()
        self._thread.join(timeout)

    def wake(self) -> None:
        """A job was queued."""
        self._wake.set()

    def engine(self) -> Engine:
        """The warm engine (every job decodes with the served options, so it is never reloaded)."""
        return api.ENGINES.get(self._options)

    def detect(self, key: str, path: Path) -> Future[Detection]:
        """The language of the audio in ``path`` (a future the worker fulfils); ``key`` names identical audio."""
        with self._lock:
            if key in self._detected:
                done: Future[Detection] = Future()
                done.set_result(self._detected[key])
                return done
            if key not in self._detecting:
                self._detecting[key] = Future()
                self._detect_queue.append((key, path, self._detecting[key]))
            future = self._detecting[key]
        self._wake.set()
        return future

    # ------------------------------------------------------------------ the thread

    def _main(self) -> None:
        if not self._load():
            return
        while not self._stopping:
            if self._detect_next():
                continue
            job = self.store.claim_next()
            if job is None:
                self._wake.wait()
                self._wake.clear()
                continue
            self._run(job)

    def _load(self) -> bool:
        started = time.monotonic()
        try:
            self.engine()
        except Exception as exc:  # a bug in a backend must not leave /health saying "loading" forever
            self.state, self.error = "error", str(exc) if isinstance(exc, SubgenError) else repr(exc)
            log.error("model %s failed to load: %s", self.config.model, self.error)
            return False
        self.load_seconds = time.monotonic() - started
        self.state = "ready"
        log.info("model %s loaded in %.1f s", self.config.model, self.load_seconds)
        return True

    def _run(self, job: Job) -> None:
        self.current = job.id
        log.info("job %s started (run %d): %s", job.id, job.runs, job.source, extra={"job": job.id})
        try:
            outcome, decoded = JobRun(job, self.config, self.store, self.hub, self.engine, self._check).run(), True
        except Interrupt as stop:
            if stop.reason == "stop":
                self.store.requeue(job.id)
                self.hub.forget(job.id)
                log.info("job %s interrupted by shutdown; queued again", job.id, extra={"job": job.id})
                return
            outcome, decoded = Outcome(JobState.CANCELLED, "cancelled by a client"), False
        except Exception as exc:  # a bug fails this job, never the worker
            log.exception("job %s: unexpected error", job.id, extra={"job": job.id})
            outcome, decoded = Outcome(JobState.FAILED, f"internal error: {exc!r}"), True
        finally:
            self.current = None
        self.store.finish(job.id, outcome.state, outcome.error, decoded)
        self.hub.forget(job.id)
        final = self.store.get(job.id)
        if final is not None:
            summary = final.error or f"{final.audio_seconds:.1f} s of audio"
            log.info("job %s %s: %s", job.id, final.state, summary, extra={"job": job.id, "state": final.state.value})
            self.on_final(final)

    def _check(self) -> None:
        """Called at every progress step of a run: stop it when the server stops or a client cancelled it (the
        request is read from the store, so it holds across a restart too)."""
        if threading.current_thread() is not self._thread:
            return
        if self._stopping:
            raise Interrupt("stop")
        job = self.store.get(self.current) if self.current else None
        if job is not None and job.cancel_requested:
            raise Interrupt("cancel")

    def _detect_next(self) -> bool:
        with self._lock:
            if not self._detect_queue:
                return False
            key, path, future = self._detect_queue.popleft()
        try:
            result = self._detect(path)
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
            with self._lock:
                self._detected[key] = result
                while len(self._detected) > self.DETECTIONS_KEPT:
                    self._detected.popitem(last=False)
        finally:
            with self._lock:
                self._detecting.pop(key, None)
        return True

    def _detect(self, path: Path) -> Detection:
        with scratch_dir() as scratch:
            audio = load_audio(path, scratch, self._options)
            if not audio.windows:
                return Detection("en", 0.0)  # no speech: nothing to tell a language from
            language, probability = self.engine().language_probability(audio.windows[0].samples(audio.clip))
        return Detection(language, round(probability, 4))
