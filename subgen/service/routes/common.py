"""What the routes share: the service object, receiving an upload, answering with a job."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from subgen.service import spec, uploads
from subgen.service.errors import BadRequest
from subgen.service.jobs import Service, Submission
from subgen.service.store import Job


def service(request: Request) -> Service:
    """The app's ``Service`` (a FastAPI dependency)."""
    svc: Service = request.app.state.service
    return svc


async def submit_upload(svc: Service, file: Any, sub: Submission, *, pcm: bool = False) -> tuple[Job, bool]:
    """Save ``file`` (a form's upload) under the limit, check it is media, and submit it; nothing is left behind
    when any step refuses it."""
    if not isinstance(file, UploadFile):
        raise BadRequest("send the media as a file upload (multipart/form-data)", param="file")
    folder = await run_in_threadpool(uploads.scratch_dir, svc.incoming)
    try:
        save = uploads.save_pcm if pcm else uploads.save
        upload = await run_in_threadpool(save, file.file, folder, file.filename, svc.config.max_upload_bytes)
        await run_in_threadpool(uploads.check_media, upload)
        return await run_in_threadpool(svc.submit_upload, upload, sub)
    finally:
        await file.close()
        await run_in_threadpool(uploads.discard, folder)  # gone already when the job took the file


def decode_options(task: str, language: str | None, prompt: str | None, **extra: Any) -> dict[str, Any]:
    """A compatibility route's fields as subgen options, checked like any submission's (a 400 naming the field)."""
    options: dict[str, Any] = {"task": task, **{k: v for k, v in extra.items() if v is not None}}
    if language:
        options["language"] = language
    if prompt:
        options["initial_prompt"] = prompt
    return spec.check_options(options)


def job_response(svc: Service, job: Job, created: bool) -> JSONResponse:
    """202 with the new job, or 200 with the existing one a repeated submission joined."""
    headers = {"Location": f"/v1/jobs/{job.id}", "X-Subgen-Job": job.id}
    return JSONResponse(svc.describe(job), status_code=202 if created else 200, headers=headers)
