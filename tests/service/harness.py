"""Start the service in a subprocess on a loopback port and talk to it: the tests' side of every service test.

Waiting is always for a state: the port file to appear, ``/health`` to say ok, a job's events stream to show
the awaited state; the deadlines only turn a hang into a failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
FINAL = ("done", "failed", "cancelled")
START_DEADLINE = 120.0
JOB_DEADLINE = 300.0
POLL = 0.05


@dataclass
class Server:
    """A running service process."""

    url: str
    state_dir: Path
    proc: subprocess.Popen
    log: Path
    token: str | None = None
    gate_dir: Path | None = None
    _clients: list[httpx.Client] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        """The auth header, when the server has a token."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def client(self, timeout: float = JOB_DEADLINE) -> httpx.Client:
        """An httpx client for this server (closed when the server stops)."""
        client = httpx.Client(base_url=self.url, headers=self.headers(), timeout=timeout)
        self._clients.append(client)
        return client

    def open_gate(self, name: str) -> None:
        """Let the fake engine go on with the jobs whose prompt is ``gate:<name>``."""
        assert self.gate_dir is not None
        (self.gate_dir / name).touch()

    def wait_job(self, job_id: str, until: Callable[[dict], bool] | None = None) -> dict:
        """The job once ``until`` holds (default: final), read from its Server-Sent Events stream."""
        until = until or (lambda job: job["state"] in FINAL)
        for job in self.events(job_id):
            if until(job):
                return job
        raise AssertionError(f"job {job_id} ended without reaching the awaited state")

    def events(self, job_id: str) -> Iterator[dict]:
        """Every job snapshot the events stream sends, until it ends."""
        with httpx.stream(
            "GET", f"{self.url}/v1/jobs/{job_id}/events", headers=self.headers(), timeout=JOB_DEADLINE
        ) as response:
            assert response.status_code == 200, response.read()
            event = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event == "job":
                    yield json.loads(line.removeprefix("data: "))

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (a crash)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._close_clients()

    def stop(self) -> None:
        """SIGTERM and wait (a clean stop); SIGKILL if it does not end."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_clients()

    def log_lines(self) -> list[str]:
        """The server's stderr so far."""
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()

    def _close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


def start_server(
    state_dir: Path,
    *,
    fake: bool = True,
    model: str = "tiny.en",
    token: str | None = None,
    roots: tuple[Path, ...] = (),
    wait_ready: bool = True,
    load_gate: Path | None = None,
    **settings: Any,
) -> Server:
    """Start the launcher with these settings and wait until it listens (and, by default, until it is ready)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    gate_dir = state_dir.parent / f"{state_dir.name}-gates"
    gate_dir.mkdir(exist_ok=True)
    config = {"model": model, "state_dir": str(state_dir), "token": token, "allow_roots": [str(r) for r in roots]}
    config.update(settings)
    port_file = state_dir.parent / f"{state_dir.name}-{time.monotonic_ns()}.port"
    log = port_file.with_suffix(".log")
    argv = [sys.executable, "-m", "tests.service.launcher", "--config", json.dumps(config)]
    argv += ["--port-file", str(port_file)]
    if fake:
        argv += ["--fake", "--gate-dir", str(gate_dir)]
    if load_gate is not None:
        argv += ["--load-gate", str(load_gate)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
    port = _wait_for_port(proc, port_file, log)
    server = Server(f"http://127.0.0.1:{port}", state_dir, proc, log, token, gate_dir if fake else None)
    if wait_ready:
        wait_healthy(server)
    return server


def _wait_for_port(proc: subprocess.Popen, port_file: Path, log: Path) -> int:
    deadline = time.monotonic() + START_DEADLINE
    while not port_file.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the server exited ({proc.returncode}):\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the server did not start:\n{log.read_text()[-4000:]}")
        time.sleep(POLL)
    return int(port_file.read_text())


def wait_healthy(server: Server) -> dict:
    """``/health``'s body once it answers 200."""
    deadline = time.monotonic() + START_DEADLINE
    while True:
        try:
            response = httpx.get(f"{server.url}/health", timeout=10)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass  # not accepting yet
        if server.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the server never became healthy:\n{server.log.read_text()[-4000:]}")
        time.sleep(POLL)


@contextmanager
def running(state_dir: Path, **kwargs: Any) -> Iterator[Server]:
    """A server for the ``with`` block, stopped afterwards."""
    server = start_server(state_dir, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def upload(client: httpx.Client, path: Path, options: dict | None = None, **headers: str) -> httpx.Response:
    """``POST /v1/jobs`` with ``path`` as the file and ``options`` as JSON."""
    data = {"options": json.dumps(options)} if options is not None else {}
    files = {"file": (path.name, path.read_bytes())}
    return client.post("/v1/jobs", files=files, data=data, headers=headers)


def error_of(response: httpx.Response) -> dict:
    """The OpenAI-style error body of a refused request (checked to be one)."""
    assert response.status_code >= 400, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    assert body["error"]["message"], body
    return body["error"]
