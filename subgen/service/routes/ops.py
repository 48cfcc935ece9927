"""Operations: ``/health`` (503 until the model is loaded), ``/metrics`` (Prometheus text), and the web page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from subgen.core.version import __version__
from subgen.service.jobs import Service
from subgen.service.page import PAGE
from subgen.service.routes.common import service
from subgen.service.store import JobState

router = APIRouter(tags=["operations"])
ServiceDep = Annotated[Service, Depends(service)]
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/health")
async def health(svc: ServiceDep) -> JSONResponse:
    """200 once the model is loaded and the worker runs; 503 while it loads or after it failed to."""
    worker = svc.worker
    status = "ok" if worker.state == "ready" else worker.state
    body: dict[str, str | None] = {"status": status, "model": svc.config.model, "version": __version__}
    if worker.state == "error":
        body["error"] = worker.error
    return JSONResponse(body, status_code=200 if worker.state == "ready" else 503)


@router.get("/metrics")
async def metrics(svc: ServiceDep) -> PlainTextResponse:
    """Queue depth, jobs by state, audio seconds decoded, realtime factor, submissions, in Prometheus' format."""
    return PlainTextResponse(render_metrics(svc), media_type=PROMETHEUS)


def render_metrics(svc: Service) -> str:
    """The metrics text."""
    counts = svc.store.counts()
    audio, wall = svc.store.totals()
    lines: list[str] = []

    def metric(name: str, kind: str, help: str, samples: list[tuple[str, float]]) -> None:
        lines.extend([f"# HELP {name} {help}", f"# TYPE {name} {kind}"])
        lines.extend(f"{name}{labels} {value:g}" for labels, value in samples)

    metric("subgen_up", "gauge", "1 when the model is loaded and jobs run.", [("", svc.worker.state == "ready")])
    metric("subgen_model_load_seconds", "gauge", "Seconds the model took to load.", [("", svc.worker.load_seconds)])
    metric("subgen_queue_depth", "gauge", "Jobs waiting for the worker.", [("", counts[JobState.QUEUED])])
    metric("subgen_jobs", "gauge", "Jobs by state.", [(f'{{state="{s.value}"}}', n) for s, n in counts.items()])
    metric("subgen_audio_seconds_total", "counter", "Audio seconds transcribed.", [("", audio)])
    metric("subgen_decode_seconds_total", "counter", "Wall seconds spent transcribing them.", [("", wall)])
    factor = audio / wall if wall else 0.0
    metric("subgen_realtime_factor", "gauge", "Audio seconds per wall second, over all items.", [("", factor)])
    c = svc.counters
    metric(
        "subgen_submissions_total",
        "counter",
        "Submissions since start: new jobs, and repeats that joined an existing job.",
        [('{outcome="created"}', c.submitted), ('{outcome="joined"}', c.joined)],
    )
    return "\n".join(lines) + "\n"


@router.get("/", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    """The web page: submit a file or a path, follow the jobs, preview a finished one with its subtitles."""
    return HTMLResponse(PAGE)
