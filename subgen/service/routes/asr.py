"""whisper-asr-webservice's API, as Bazarr's Whisper provider calls it: ``POST /asr`` and ``/detect-language``.

``encode=false`` means the upload is raw 16 kHz mono s16le PCM (what Bazarr sends after its own ffmpeg run).
``/asr`` requests are upload jobs, so Bazarr re-asking after its read timeout joins the running job. VAD stays
on unless ``vad_filter=false`` is sent explicitly (whisper-asr-webservice's default of off is not a request).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Query, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from subgen.core.languages import LANGUAGE_CODES, language_name
from subgen.service import documents, spec, uploads
from subgen.service.errors import BadRequest, NotReady
from subgen.service.jobs import Service, Submission
from subgen.service.routes.common import decode_options, service, submit_upload
from subgen.service.routes.openai import final_document

router = APIRouter(tags=["whisper-asr-webservice"])
ServiceDep = Annotated[Service, Depends(service)]
OUTPUTS = ("txt", "vtt", "srt", "tsv", "json")
TASKS = ("transcribe", "translate")


@router.post("/asr")
async def asr(
    svc: ServiceDep,
    audio_file: Annotated[UploadFile, File()],
    encode: bool = True,
    task: str = "transcribe",
    language: str | None = None,
    initial_prompt: str | None = None,
    vad_filter: bool | None = None,
    word_timestamps: bool = False,
    output: Annotated[str, Query()] = "txt",
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    """Transcribe (or translate) the upload; the subtitles or transcript as ``output``."""
    options = _options(task, language, initial_prompt, vad_filter, output)
    sub = Submission(options, "asr", spec.client_key(idempotency_key))
    job, _ = await submit_upload(svc, audio_file, sub, pcm=not encode)
    job = await svc.wait_final(job.id)
    doc = final_document(svc, job)
    name = uploads.safe_name(audio_file.filename, "audio")
    headers = {
        "Asr-Engine": "subgen",
        "X-Subgen-Job": job.id,
        "Content-Disposition": f'attachment; filename="{name}.{output}"',
    }
    if output == "json":
        return JSONResponse(documents.asr_json(doc, word_timestamps), headers=headers)
    return PlainTextResponse(documents.render(doc, output), headers=headers)


def _options(task: str, language: str | None, prompt: str | None, vad: bool | None, output: str) -> dict[str, Any]:
    if output not in OUTPUTS:
        raise BadRequest(f"output must be one of {', '.join(OUTPUTS)}", param="output", code="unknown_format")
    if task not in TASKS:
        raise BadRequest(f"task must be one of {', '.join(TASKS)}", param="task")
    if language is not None and language not in LANGUAGE_CODES:
        raise BadRequest(f"language '{language}' is not a Whisper language code", param="language")
    return decode_options(task, language, prompt, vad=vad)


@router.post("/detect-language")
async def detect_language(
    svc: ServiceDep, audio_file: Annotated[UploadFile, File()], encode: bool = True
) -> dict[str, Any]:
    """The spoken language of the upload's first speech (served between jobs, ahead of the queue)."""
    if svc.worker.state == "error":
        raise NotReady(f"the model failed to load: {svc.worker.error}")
    folder = await run_in_threadpool(uploads.scratch_dir, svc.incoming)
    try:
        save = uploads.save if encode else uploads.save_pcm
        limit = svc.config.max_upload_bytes
        upload = await run_in_threadpool(save, audio_file.file, folder, audio_file.filename, limit)
        await run_in_threadpool(uploads.check_media, upload)
        found = await asyncio.wrap_future(svc.worker.detect(upload.sha256, upload.path))
    finally:
        await audio_file.close()
        await run_in_threadpool(uploads.discard, folder)
    return {
        "detected_language": language_name(found.language).lower(),
        "language_code": found.language,
        "confidence": found.confidence,
    }
