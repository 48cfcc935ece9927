"""The service's job operations, shared by every route: submit (idempotently), describe, wait, fetch results.

Routes turn HTTP into these calls and these calls' errors into HTTP (``subgen.service.errors``); nothing here
knows about FastAPI. A submission's input is put in the job's folder before the job is stored, so the worker
never sees a job whose file is not there yet; a duplicate's copy is removed again.
"""

from __future__ import annotations

import logging
import math
import shutil
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import subgen.api as api
from subgen.core.errors import OutputError
from subgen.core.options import RunOptions
from subgen.service import spec
from subgen.service.config import ServiceConfig
from subgen.service.documents import load_document
from subgen.service.errors import BadRequest, Conflict, Forbidden, NotFound, NotReady
from subgen.service.hub import Hub
from subgen.service.runner import job_dir
from subgen.service.store import PENDING, ItemRecord, Job, JobState, JobStore, NewJob
from subgen.service.uploads import Upload
from subgen.service.worker import Worker
from subgen.sources.inputs import expand_inputs
from subgen.subtitles.writers import Document

log = logging.getLogger(__name__)
DEFAULT_RUN_SECONDS = 10.0
"""A job's assumed length for ``Retry-After`` before any job has finished."""


@dataclass(frozen=True)
class Submission:
    """What every kind of job submission shares besides its input."""

    options: dict[str, Any]
    origin: str = "jobs"
    client_key: str | None = None
    webhook_url: str | None = None


@dataclass
class Counters:
    """In-memory counts for ``/metrics`` since this process started."""

    submitted: int = 0
    joined: int = 0


class Service:
    """The store, the hub and the worker behind the routes."""

    def __init__(self, config: ServiceConfig, store: JobStore, hub: Hub, worker: Worker) -> None:
        self.config, self.store, self.hub, self.worker = config, store, hub, worker
        self.counters = Counters()
        self.incoming = config.state_dir / "incoming"

    # ------------------------------------------------------------------ submitting

    def options(self, options: dict[str, Any]) -> RunOptions:
        """The run options of checked job options, with every usage problem found now (a 400, not a failed job)."""
        run = spec.run_options(options, self.config.transcribe_options())
        api.check_run(run)
        return run

    def submit_upload(self, upload: Upload, sub: Submission) -> tuple[Job, bool]:
        """A job for an uploaded file (already checked to be media) in ``upload.path.parent``."""
        self._admit(sub)
        if sub.options.get("output_dir"):
            raise BadRequest("output_dir is only for server-side path jobs", param="output_dir")
        run = self.options(sub.options)
        job_id = uuid.uuid4().hex[:16]
        folder = job_dir(self.config, job_id)
        folder.mkdir(parents=True)
        upload.path.parent.rename(folder / "input")
        stored = folder / "input" / upload.path.name
        key = spec.content_key("upload", upload.sha256, run)
        return self._submit(NewJob(job_id, "upload", sub.origin, upload.filename, str(stored), sub.options, key), sub)

    def submit_path(self, raw: str, sub: Submission) -> tuple[Job, bool]:
        """A job for a server-side file or folder under ``--allow-root`` (a folder is a batch)."""
        self._admit(sub)
        path = spec.allowed_path(raw, self.config.allow_roots)
        options = dict(sub.options)
        if options.get("output_dir"):
            roots = self.config.allow_roots
            target = spec.allowed_path(options["output_dir"], roots, must_exist=False, param="output_dir")
            options["output_dir"] = str(target)
        run = self.options(options)
        try:
            api.check_destinations(run)
        except OutputError as exc:
            raise BadRequest(str(exc), param="output_dir") from exc
        files = [item.path for item in expand_inputs([str(path)]) if item.path is not None]
        key = spec.content_key("path", spec.path_identity(path, files), run)
        job_id = uuid.uuid4().hex[:16]
        new = NewJob(job_id, "path", sub.origin, str(path), str(path), options, key)
        return self._submit(new, sub, folder=job_dir(self.config, job_id))

    def submit_url(self, url: str, sub: Submission) -> tuple[Job, bool]:
        """A job for a URL (downloaded by yt-dlp), only with ``--allow-urls``."""
        self._admit(sub)
        if not self.config.allow_urls:
            raise Forbidden("URL jobs are switched off; start the server with --allow-urls", param="url")
        if urlsplit(url).scheme not in ("http", "https"):
            raise BadRequest("url must be an http or https URL", param="url")
        if sub.options.get("output_dir"):
            raise BadRequest("output_dir is only for server-side path jobs", param="output_dir")
        run = self.options(sub.options)
        job_id = uuid.uuid4().hex[:16]
        new = NewJob(job_id, "url", sub.origin, url, url, sub.options, spec.content_key("url", url, run))
        return self._submit(new, sub, folder=job_dir(self.config, job_id))

    def _submit(self, new: NewJob, sub: Submission, folder: Path | None = None) -> tuple[Job, bool]:
        folder = folder or job_dir(self.config, new.id)
        folder.mkdir(parents=True, exist_ok=True)
        new = replace(new, client_key=sub.client_key, webhook_url=sub.webhook_url)
        try:
            job, created = self.store.submit(new, self.config.max_queue, self.retry_after())
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if created:
            self.counters.submitted += 1
            log.info("job %s queued (%s, %s): %s", job.id, job.kind, job.origin, job.source, extra={"job": job.id})
            self.worker.wake()
        else:
            self.counters.joined += 1
            shutil.rmtree(folder, ignore_errors=True)
            log.info("repeated submission joined job %s (%s)", job.id, job.state.value, extra={"job": job.id})
        return job, created

    def _admit(self, sub: Submission) -> None:
        """Refusals that need no look at the input: a model that failed to load, a bad webhook."""
        if self.worker.state == "error":
            raise NotReady(f"the model failed to load, so no job could run: {self.worker.error}")
        url = sub.webhook_url
        if url is None:
            return
        if urlsplit(url).scheme not in ("http", "https"):
            raise BadRequest("webhook_url must be an http or https URL", param="webhook_url")
        if not self.config.signing_key:
            message = "webhooks are signed: start the server with --webhook-secret (or --token)"
            raise BadRequest(message, param="webhook_url")

    def retry_after(self) -> int:
        """Seconds a client refused for a full queue should wait: the queue times a recent job's length."""
        waiting = self.store.counts()[JobState.QUEUED]
        seconds = self.store.mean_run_seconds() or DEFAULT_RUN_SECONDS
        return max(1, min(3600, math.ceil(seconds * max(1, waiting))))

    def clean(self) -> None:
        """At start: drop what a crash left half-made (uploads never submitted, job folders of no stored job)."""
        shutil.rmtree(self.incoming, ignore_errors=True)
        jobs = self.config.state_dir / "jobs"
        for folder in jobs.iterdir() if jobs.is_dir() else ():
            if self.store.get(folder.name) is None:
                log.warning("removing %s: no job of that id was stored", folder)
                shutil.rmtree(folder, ignore_errors=True)

    # ------------------------------------------------------------------ reading

    def job(self, job_id: str) -> Job:
        """The job, or ``NotFound``."""
        job = self.store.get(job_id)
        if job is None:
            raise NotFound(f"no job '{job_id}'", param="id")
        return job

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued job now, a running one at its next progress step; a final job is left as it is."""
        before = self.job(job_id)
        job = self.store.request_cancel(job_id)
        assert job is not None
        self.hub.changed(job_id)
        if before.state == JobState.QUEUED and job.state == JobState.CANCELLED:
            log.info("job %s cancelled before it ran", job_id, extra={"job": job_id, "state": job.state.value})
            self.worker.on_final(job)  # its webhook, as for any job that ends
        return job

    async def wait_final(self, job_id: str) -> Job:
        """The job once it is done, failed or cancelled (waiting on the hub, never polling the worker)."""
        while True:
            change = self.hub.listen(job_id)
            job = self.job(job_id)
            if job.final:
                self.hub.release(job_id)
                return job
            if self.worker.state == "error":
                raise NotReady(f"the model failed to load, so the job cannot run: {self.worker.error}")
            await self.hub.wait(change, timeout=30.0)  # the timeout is a safety net: a change always wakes us

    def document(self, job: Job, item: int = 0, language: str | None = None) -> Document:
        """The result document of ``item`` (the pass in ``language``, else the first)."""
        record = self._finished_item(job, item)
        names = [d for d in record.documents if language is None or d.endswith(f".{language}.json")]
        if not names:
            raise NotFound(f"item {item} of job {job.id} has no result in language '{language}'", param="language")
        style = spec.run_options(job.options, self.config.transcribe_options()).video.style
        return load_document(job_dir(self.config, job.id) / names[0], style)

    def _finished_item(self, job: Job, item: int) -> ItemRecord:
        if job.state != JobState.DONE:
            detail = f": {job.error}" if job.error else "; wait for it to finish"
            raise Conflict(f"job {job.id} is {job.state.value}{detail}", code=f"job_{job.state.value}")
        record = next((r for r in self.store.items(job.id) if r.index == item), None)
        if record is None:
            raise NotFound(f"job {job.id} has no item {item}", param="item")
        if not record.documents:
            reason = record.error or "its subtitles existed already: " + ", ".join(record.outputs)
            raise Conflict(f"item {item} of job {job.id} has no result ({record.status}: {reason})")
        return record

    def media(self, job: Job, item: int = 0) -> Path:
        """The media file of ``item`` (for the page's preview), still confined to the roots for path jobs."""
        if job.kind == "upload":
            return Path(job.input)
        record = next((r for r in self.store.items(job.id) if r.index == item), None)
        if job.kind != "path" or record is None:
            raise NotFound(f"job {job.id} has no local media for item {item}", param="item")
        return spec.allowed_path(record.source, self.config.allow_roots)

    def describe(self, job: Job) -> dict[str, Any]:
        """The job as the API shows it."""
        items = self.store.items(job.id)
        live = self.hub.progress(job.id) if job.state == JobState.RUNNING else None
        done_seconds = live.seconds_done if live else job.audio_seconds
        return {
            "id": job.id,
            "object": "job",
            "state": job.state.value,
            "stage": live.stage if live else job.stage,
            "kind": job.kind,
            "origin": job.origin,
            "source": job.source,
            "options": job.options,
            "created_at": _time(job.created_at),
            "started_at": _time(job.started_at),
            "finished_at": _time(job.finished_at),
            "error": job.error,
            "cancel_requested": job.cancel_requested,
            "runs": job.runs,
            "decodes": job.decodes,
            "progress": {
                "items_done": live.items_done if live else sum(r.status != PENDING for r in items),
                "items_total": (live.items_total if live else None) or job.items_total,
                "audio_seconds_done": round(done_seconds, 3),
                "audio_seconds_known": round(live.seconds_known if live else job.audio_seconds, 3),
            },
            "audio_seconds": round(job.audio_seconds, 3),
            "wall_seconds": round(job.wall_seconds, 3),
            "realtime_factor": round(job.audio_seconds / job.wall_seconds, 2) if job.wall_seconds else None,
            "items": [_item(r, job) for r in items],
            "webhook": {"url": job.webhook_url, "state": job.webhook_state, "attempts": job.webhook_attempts}
            if job.webhook_url
            else None,
            "links": _links(job),
        }


def _time(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC).isoformat(timespec="milliseconds")


def _item(record: ItemRecord, job: Job) -> dict[str, Any]:
    return {
        "index": record.index,
        "source": record.source,
        "status": record.status,
        "language": record.language,
        "audio_seconds": record.audio_seconds,
        "wall_seconds": record.wall_seconds,
        "error": record.error,
        "outputs": list(record.outputs) if job.kind == "path" else [],
        "results": [Path(d).name.rsplit(".", 2)[-2] for d in record.documents],
    }


def _links(job: Job) -> dict[str, str]:
    base = f"/v1/jobs/{job.id}"
    links = {"self": base, "events": f"{base}/events", "cancel": f"{base}/cancel"}
    links["result"] = f"{base}/result?format=srt"
    if job.kind != "url":
        links["media"] = f"{base}/media"
    return links
