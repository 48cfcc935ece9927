"""subgen's own jobs API: submit (upload, server-side path or URL), list, inspect, follow, fetch, cancel."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from subgen.service import documents, spec
from subgen.service.errors import BadRequest, Conflict
from subgen.service.jobs import Service, Submission
from subgen.service.routes.common import job_response, service, submit_upload
from subgen.service.store import JobState

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
ServiceDep = Annotated[Service, Depends(service)]
KEEPALIVE = 15.0
MEDIA_TYPES = {
    "srt": "application/x-subrip",
    "vtt": "text/vtt",
    "json": "application/json",
    "txt": "text/plain",
    "ass": "text/x-ssa",
    "tsv": "text/tab-separated-values",
}


@router.post("", status_code=202)
async def create_job(
    request: Request, svc: ServiceDep, idempotency_key: Annotated[str | None, Header()] = None
) -> Response:
    """Queue a job: multipart with ``file`` (and ``options`` as JSON text), or JSON with ``path`` or ``url``."""
    content_type = request.headers.get("content-type", "")
    key = spec.client_key(idempotency_key)
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=8)
        sub = _submission(spec.parse_json_options(_text(form.get("options"))), form.get("webhook_url"), key)
        job, created = await submit_upload(svc, form.get("file"), sub)
        return job_response(svc, job, created)
    body = await _json_body(request)
    sub = _submission(spec.check_options(body.get("options", {})), body.get("webhook_url"), key)
    if isinstance(body.get("path"), str) == isinstance(body.get("url"), str):
        raise BadRequest("give exactly one of 'path' (a server-side file or folder) or 'url'", param="path")
    if isinstance(body.get("path"), str):
        job, created = await run_in_threadpool(svc.submit_path, body["path"], sub)
    else:
        job, created = await run_in_threadpool(svc.submit_url, body["url"], sub)
    return job_response(svc, job, created)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise BadRequest("options must be a text field holding JSON", param="options")


def _submission(options: dict[str, Any], webhook: Any, key: str | None) -> Submission:
    if webhook is not None and not isinstance(webhook, str):
        raise BadRequest("webhook_url must be a string", param="webhook_url")
    return Submission(options, "jobs", key, webhook or None)


async def _json_body(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise BadRequest("send multipart/form-data with a file, or application/json with a path or url")
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


@router.get("")
async def list_jobs(
    svc: ServiceDep, state: JobState | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> dict[str, Any]:
    """The newest jobs first, optionally only those in ``state``."""
    return {"object": "list", "data": [svc.describe(job) for job in svc.store.recent(state, limit)]}


@router.get("/{job_id}")
async def get_job(job_id: str, svc: ServiceDep) -> dict[str, Any]:
    """One job: state, stage, progress in audio seconds, per-item results and errors."""
    return svc.describe(svc.job(job_id))


@router.post("/{job_id}/cancel")
async def cancel_job(job_id: str, svc: ServiceDep) -> dict[str, Any]:
    """Cancel a queued job now, a running one at its next progress step."""
    job = svc.job(job_id)
    if job.state in (JobState.DONE, JobState.FAILED):
        raise Conflict(f"job {job_id} is {job.state.value} already; nothing to cancel", code="job_final")
    return svc.describe(svc.cancel(job_id))


@router.get("/{job_id}/result")
async def job_result(
    job_id: str,
    svc: ServiceDep,
    format: str = "srt",
    item: Annotated[int, Query(ge=0)] = 0,
    language: str | None = None,
) -> Response:
    """A finished item's subtitles in ``format`` (srt, vtt, json, txt, ass or tsv), rendered from its result."""
    documents.check_format(format)
    doc = await run_in_threadpool(svc.document, svc.job(job_id), item, language)
    text = await run_in_threadpool(documents.render, doc, format)
    filename = f"{job_id}-{item}.{doc.transcript.language}.{format}"
    headers = {"Content-Disposition": f'inline; filename="{filename}"'}
    return Response(text, media_type=f"{MEDIA_TYPES[format]}; charset=utf-8", headers=headers)


@router.get("/{job_id}/media")
async def job_media(job_id: str, svc: ServiceDep, item: Annotated[int, Query(ge=0)] = 0) -> FileResponse:
    """The job's media (an upload, or a server-side file inside the roots), for the page's preview."""
    path = await run_in_threadpool(svc.media, svc.job(job_id), item)
    return FileResponse(path)


@router.get("/{job_id}/events")
async def job_events(job_id: str, svc: ServiceDep) -> StreamingResponse:
    """Server-Sent Events: the job (``event: job``) whenever it changes, then ``event: end`` once it is final."""
    svc.job(job_id)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(_events(svc, job_id), media_type="text/event-stream", headers=headers)


async def _events(svc: Service, job_id: str) -> AsyncIterator[str]:
    sent = None
    while True:
        change = svc.hub.listen(job_id)
        job = svc.job(job_id)
        data = json.dumps(svc.describe(job))
        if data != sent:
            yield f"event: job\ndata: {data}\n\n"
            sent = data
        if job.final:
            svc.hub.release(job_id)
            yield "event: end\ndata: {}\n\n"
            return
        if not await svc.hub.wait(change, KEEPALIVE):
            yield ": keep-alive\n\n"
