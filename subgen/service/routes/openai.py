"""OpenAI's audio API: ``/v1/audio/transcriptions`` and ``/v1/audio/translations`` with its response shapes.

A request becomes an upload job like any other, so a retried or repeated request joins the first one's job
instead of decoding again; the answer waits for the job. Subtitles (srt, vtt) are subgen's readable cues.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from subgen.core.languages import LANGUAGE_CODES
from subgen.service import documents, spec
from subgen.service.errors import BadRequest, Conflict, JobFailed
from subgen.service.jobs import Service, Submission
from subgen.service.routes.common import decode_options, service, submit_upload
from subgen.service.store import Job, JobState

router = APIRouter(prefix="/v1/audio", tags=["openai"])
ServiceDep = Annotated[Service, Depends(service)]
RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
GRANULARITIES = ("word", "segment")
ALIASES = ("whisper-1",)
"""Model names every OpenAI client sends; they mean the model this server serves."""


@router.post("/transcriptions")
async def transcriptions(
    svc: ServiceDep,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form()],
    language: Annotated[str | None, Form()] = None,
    prompt: Annotated[str | None, Form()] = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float, Form()] = 0.0,
    granularities: Annotated[list[str] | None, Form(alias="timestamp_granularities[]")] = None,
    stream: Annotated[bool, Form()] = False,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    """Transcribe the upload in its own language."""
    request = _Request(model, response_format, temperature, set(granularities or ()), stream)
    options = _options(svc, request, "transcribe", prompt, language)
    return await _answer(svc, file, options, request, idempotency_key)


@router.post("/translations")
async def translations(
    svc: ServiceDep,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form()],
    prompt: Annotated[str | None, Form()] = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float, Form()] = 0.0,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    """Translate the upload's speech into English."""
    request = _Request(model, response_format, temperature, set(), False)
    options = _options(svc, request, "translate", prompt, None)
    return await _answer(svc, file, options, request, idempotency_key)


class _Request:
    """The parts of a request that shape the answer, not the job."""

    def __init__(self, model: str, fmt: str, temperature: float, granularities: set[str], stream: bool) -> None:
        self.model, self.format, self.granularities = model, fmt, granularities
        if fmt not in RESPONSE_FORMATS:
            raise BadRequest(f"response_format must be one of {', '.join(RESPONSE_FORMATS)}", param="response_format")
        if granularities - set(GRANULARITIES):
            raise BadRequest("timestamp_granularities[] takes word and/or segment", param="timestamp_granularities[]")
        if granularities and fmt != "verbose_json":
            raise BadRequest("timestamp granularities need response_format verbose_json", param="response_format")
        if not 0.0 <= temperature <= 1.0:
            raise BadRequest("temperature must be between 0 and 1", param="temperature")
        if stream:
            raise BadRequest("streaming is not supported; omit stream", param="stream")


def _options(svc: Service, request: _Request, task: str, prompt: str | None, language: str | None) -> dict[str, Any]:
    if request.model not in (*ALIASES, svc.config.model):
        raise BadRequest(
            f"model '{request.model}' is not served here; use whisper-1 or {svc.config.model}",
            param="model",
            code="model_not_found",
        )
    if language is not None and language not in LANGUAGE_CODES:
        raise BadRequest(f"language '{language}' is not an ISO-639-1 code Whisper knows", param="language")
    return decode_options(task, language, prompt)


async def _answer(
    svc: Service, file: UploadFile, options: dict[str, Any], request: _Request, idempotency_key: str | None
) -> Response:
    sub = Submission(options, "openai", spec.client_key(idempotency_key))
    job, _ = await submit_upload(svc, file, sub)
    job = await svc.wait_final(job.id)
    return _render(svc, job, request)


def final_document(svc: Service, job: Job) -> documents.Document:
    """The finished job's document; a failed job is the client's media (422), a cancelled one a conflict."""
    if job.state == JobState.FAILED:
        raise JobFailed(job.error or "transcription failed", param="file", code="transcription_failed")
    if job.state == JobState.CANCELLED:
        raise Conflict(f"job {job.id} was cancelled", code="job_cancelled")
    return svc.document(job)


def _render(svc: Service, job: Job, request: _Request) -> Response:
    doc = final_document(svc, job)
    headers = {"X-Subgen-Job": job.id}
    if request.format == "json":
        return JSONResponse(documents.openai_json(doc), headers=headers)
    if request.format == "verbose_json":
        return JSONResponse(documents.openai_verbose(doc, request.granularities), headers=headers)
    text = doc.transcript.text + "\n" if request.format == "text" else documents.render(doc, request.format)
    return PlainTextResponse(text, headers=headers)
