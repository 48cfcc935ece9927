"""``subgen serve``: run the HTTP service under uvicorn (needs the ``[server]`` extra).

The CLI and the service are both drivers, so neither imports the other: this command hands uvicorn the
service's app factory by its import string and the settings as JSON in ``SUBGEN_SERVICE_CONFIG``. The factory
checks them (a public address without a token, an unknown model: one ``error:`` line, exit code 2) before
anything listens. FastAPI and uvicorn are imported only when the command runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from subgen.cli.app import EXIT_USAGE, app, print_error
from subgen.cli.options import Device, DeviceOpt, Engine, EngineOpt, ModelOpt
from subgen.core.options import DEFAULT_MODEL

CONFIG_ENV = "SUBGEN_SERVICE_CONFIG"
"""Read by ``subgen.service.app.create_app_from_env`` (the name is fixed on both sides)."""
FACTORY = "subgen.service.app:create_app_from_env"
EXTRAS = ("fastapi", "uvicorn", "multipart")
INSTALL = "pip install 'subgen-batch[server]'"

HostOpt = Annotated[str, typer.Option(help="Address to listen on; anything but loopback needs --token.")]
PortOpt = Annotated[int, typer.Option(help="Port to listen on.")]
StateDirOpt = Annotated[
    Path | None,
    typer.Option(help="Where jobs, uploads and results are kept (default: XDG state folder, subgen/service)."),
]
TokenOpt = Annotated[
    str | None,
    typer.Option(envvar="SUBGEN_TOKEN", help="Bearer token every request but /health must send (8+ characters)."),
]
AllowRootOpt = Annotated[
    list[Path] | None,
    typer.Option("--allow-root", help="A folder whose files jobs may name by path; repeat for more."),
]
AllowUrlsOpt = Annotated[bool, typer.Option("--allow-urls", help="Accept URL jobs (the server downloads them).")]
MaxUploadOpt = Annotated[int, typer.Option(help="Largest upload in MiB (larger: HTTP 413).")]
MaxQueueOpt = Annotated[int, typer.Option(help="Most jobs waiting at once (more: HTTP 429 with Retry-After).")]
WebhookSecretOpt = Annotated[
    str | None,
    typer.Option(envvar="SUBGEN_WEBHOOK_SECRET", help="Key of the webhooks' HMAC signature (default: the token)."),
]


def missing_extra() -> str | None:
    """The first package of the ``[server]`` extra that is not installed, or None."""
    return next((name for name in EXTRAS if importlib.util.find_spec(name) is None), None)


@app.command()
def serve(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    model: ModelOpt = DEFAULT_MODEL,
    engine: EngineOpt = Engine.AUTO,
    device: DeviceOpt = Device.AUTO,
    state_dir: StateDirOpt = None,
    token: TokenOpt = None,
    allow_root: AllowRootOpt = None,
    allow_urls: AllowUrlsOpt = False,
    max_upload_mb: MaxUploadOpt = 2048,
    max_queue: MaxQueueOpt = 100,
    webhook_secret: WebhookSecretOpt = None,
) -> None:
    """Serve subtitles over HTTP: jobs, OpenAI- and Bazarr-compatible routes, and a web page."""
    missing = missing_extra()
    if missing is not None:
        print_error(f"subgen serve needs the server extra ({missing} is not installed): {INSTALL}")
        raise typer.Exit(EXIT_USAGE)
    settings = {
        "host": host,
        "port": port,
        "model": model,
        "engine": engine.value,
        "device": device.value,
        "state_dir": str(state_dir) if state_dir else None,
        "token": token,
        "allow_roots": [str(root) for root in allow_root or ()],
        "allow_urls": allow_urls,
        "max_upload_mb": max_upload_mb,
        "max_queue": max_queue,
        "webhook_secret": webhook_secret,
    }
    os.environ[CONFIG_ENV] = json.dumps(settings)
    import uvicorn

    uvicorn.run(FACTORY, factory=True, host=host, port=port, log_config=None, timeout_graceful_shutdown=5)
