"""``subgen serve``: light to import, one clear line when the extra is missing or the settings are unsafe, the
settings handed to the service intact, and the real command serving the real model."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from subgen.cli import app
from tests.service.harness import REPO, Server, upload, wait_healthy

runner = CliRunner()
INSTALL = "pip install 'subgen-batch[server]'"


def test_serve_help_imports_neither_fastapi_nor_torch():
    code = (
        "import sys; from typer.testing import CliRunner; from subgen.cli import app; "
        "r = CliRunner().invoke(app, ['serve', '--help']); assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'torch', 'starlette') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


@pytest.mark.parametrize("missing", ["fastapi", "uvicorn", "multipart"])
def test_without_the_server_extra_serve_names_the_install_line_and_exits_2(monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # find_spec now reports the package as absent
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and INSTALL in result.stderr and missing in result.stderr
    assert result.stdout == ""


def test_the_flags_reach_the_service_settings(monkeypatch, tmp_path):
    import uvicorn

    from subgen.service.config import CONFIG_ENV, ServiceConfig

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("SUBGEN_TOKEN", "from-the-environment")
    argv = ["serve", "--host", "0.0.0.0", "--port", "9123", "--model", "tiny.en", "--state-dir", str(tmp_path)]
    argv += ["--allow-root", str(tmp_path), "--allow-root", str(REPO), "--allow-urls", "--max-upload-mb", "5"]
    argv += ["--max-queue", "7", "--webhook-secret", "hook-secret-1"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    [(args, kwargs)] = calls
    assert args == ("subgen.service.app:create_app_from_env",)
    assert kwargs["factory"] is True and (kwargs["host"], kwargs["port"]) == ("0.0.0.0", 9123)
    config = ServiceConfig.from_json(os.environ[CONFIG_ENV])
    assert (config.host, config.port, config.model, config.token) == (
        "0.0.0.0",
        9123,
        "tiny.en",
        "from-the-environment",
    )
    assert config.allow_roots == (tmp_path.resolve(), REPO.resolve()) and config.allow_urls
    assert (config.max_upload_mb, config.max_queue, config.webhook_secret) == (5, 7, "hook-secret-1")
    assert config.state_dir == tmp_path


def test_every_route_is_documented(tmp_path):
    from subgen.service.app import create_app
    from subgen.service.config import ServiceConfig

    doc = (REPO / "docs" / "service.md").read_text(encoding="utf-8")
    app = create_app(ServiceConfig(state_dir=tmp_path, model="tiny.en"))
    paths = set(app.openapi()["paths"])
    assert paths >= {"/v1/jobs", "/v1/audio/transcriptions", "/asr", "/detect-language", "/health", "/metrics", "/"}
    for path in (p.replace("{job_id}", "{id}") for p in paths):
        assert any(f"{path}{end}" in doc for end in ("`", "?", ",")), f"docs/service.md lacks {path}"


def _serve(log: Path, *args: str) -> subprocess.Popen:
    """``python -m subgen serve ARGS`` with its stderr (the JSON log) going to ``log``."""
    with log.open("w") as sink:
        return subprocess.Popen([sys.executable, "-m", "subgen", "serve", *args], cwd=REPO, stderr=sink)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "refusing to listen on 0.0.0.0 without --token"),
        (["--host", "192.0.2.1", "--token", "short"], "at least 8 characters"),
        (["--model", "no-such-model"], "unknown model 'no-such-model'"),
        (["--allow-root", "/no/such/folder"], "--allow-root /no/such/folder: not a folder"),
    ],
)
def test_unsafe_or_impossible_settings_stop_serve_with_one_line_and_exit_2(args, message, tmp_path):
    proc = _serve(tmp_path / "serve.log", *args, "--port", "0", "--state-dir", str(tmp_path))
    assert proc.wait(timeout=120) == 2
    lines = (tmp_path / "serve.log").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.model
def test_subgen_serve_serves_the_real_model_until_sigterm(cards_clip, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    log = tmp_path / "serve.log"
    for attempt in range(3):  # another process may take the port between choosing it and binding it
        port = _free_port()
        proc = _serve(log, "--port", str(port), "--model", "tiny.en", "--state-dir", str(tmp_path / "state"))
        server = Server(f"http://127.0.0.1:{port}", tmp_path / "state", proc, log)
        try:
            health = wait_healthy(server)
            break
        except AssertionError:
            proc.kill()
            proc.wait(timeout=30)
            if "address already in use" not in log.read_text() or attempt == 2:
                raise
    try:
        assert health["status"] == "ok" and health["model"] == "tiny.en"
        with httpx.Client(base_url=server.url, timeout=300) as client:
            job = server.wait_job(upload(client, cards_clip, {"format": "srt"}).json()["id"])
            srt = client.get(f"/v1/jobs/{job['id']}/result").text
        assert job["state"] == "done" and "clubs" in srt.lower()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    stderr = log.read_text()
    assert proc.returncode == 0, stderr
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(r["logger"] == "subgen.service.worker" and "done" in r["message"] for r in records), stderr
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert Path(tmp_path / "state" / "jobs.sqlite3").is_file()
