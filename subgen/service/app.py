"""The FastAPI app: the parts wired together, every error as a JSON envelope, the worker started with the app.

``subgen serve`` hands uvicorn the import string ``subgen.service.app:create_app_from_env`` (a factory) and
its settings in ``SUBGEN_SERVICE_CONFIG``, so the CLI never imports this module (or FastAPI) itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

import subgen.api as api
from subgen.core.errors import SubgenError, UsageError
from subgen.core.options import RunOptions
from subgen.core.version import __version__
from subgen.service import logs
from subgen.service.config import CONFIG_ENV, ServiceConfig
from subgen.service.errors import BadRequest, HttpError
from subgen.service.hub import Hub
from subgen.service.jobs import Service
from subgen.service.routes import asr, jobs, openai, ops
from subgen.service.security import Guard, error_response
from subgen.service.store import JobStore
from subgen.service.webhooks import Webhooks
from subgen.service.worker import Worker

log = logging.getLogger(__name__)


def build_service(config: ServiceConfig) -> tuple[Service, Webhooks]:
    """The store, hub, worker and webhook sender for ``config`` (nothing started yet)."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    store = JobStore(config.state_dir / "jobs.sqlite3")
    hub = Hub()
    holder: dict[str, Service] = {}
    hooks = Webhooks(
        store,
        config.signing_key,
        config.webhook_attempts,
        config.webhook_backoff,
        lambda job: holder["service"].describe(job),
    )
    worker = Worker(config, store, hub, hooks.job_finished)
    holder["service"] = Service(config, store, hub, worker)
    return holder["service"], hooks


def create_app(config: ServiceConfig) -> FastAPI:
    """The app serving ``config``; the engine loads in the worker when the app starts."""
    svc, hooks = build_service(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc.hub.bind(asyncio.get_running_loop())
        svc.clean()
        for job_id in svc.store.requeue_running():
            log.warning("job %s was interrupted (crash or stop); queued again", job_id, extra={"job": job_id})
        svc.worker.start()
        hooks.start()
        log.info("serving model %s on %s:%d, state in %s", config.model, config.host, config.port, config.state_dir)
        yield
        await run_in_threadpool(svc.worker.stop)
        await run_in_threadpool(hooks.stop)

    app = FastAPI(
        title="subgen",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        summary="Subtitles over HTTP: jobs, OpenAI- and whisper-asr-webservice-compatible routes.",
    )
    app.state.service = svc
    for router in (jobs.router, openai.router, asr.router, ops.router):
        app.include_router(router)
    _error_handlers(app)
    app.add_middleware(Guard, config=config)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SubgenError)
    async def subgen_error(request: Request, exc: SubgenError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(_validation(exc))

    @app.exception_handler(HTTPException)
    async def http(request: Request, exc: HTTPException) -> JSONResponse:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        error = HttpError(exc.status_code, kind, str(exc.detail), code=code)
        return JSONResponse(error.body(), status_code=exc.status_code, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s: unexpected error", request.method, request.url.path, exc_info=exc)
        return error_response(exc)


def _validation(exc: RequestValidationError) -> BadRequest:
    """FastAPI's first validation problem as one message naming the field."""
    errors: list[dict[str, Any]] = list(exc.errors())
    if not errors:
        return BadRequest("invalid request")
    first = errors[0]
    field = str(first.get("loc", ("", ""))[-1])
    message = str(first.get("msg", "invalid value"))
    return BadRequest(f"{field}: {message}" if field else message, param=field or None)


def create_app_from_env() -> FastAPI:
    """The app for the settings ``subgen serve`` put in ``SUBGEN_SERVICE_CONFIG`` (uvicorn's factory). A usage
    problem (a public address without a token, an unknown model) is one ``error:`` line and exit code 2, before
    anything listens."""
    try:
        text = os.environ.get(CONFIG_ENV)
        if not text:
            raise UsageError(f"{CONFIG_ENV} is not set; start the service with 'subgen serve'")
        config = ServiceConfig.from_json(text)
        api.check_run(RunOptions(transcribe=config.transcribe_options()))
    except SubgenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logs.setup()
    return create_app(config)
