"""Webhooks (signed, retried with backoff, given up after the last attempt), URL jobs (only with --allow-urls,
downloaded by yt-dlp from a loopback server), metrics and structured logs. The server decodes with ``FakeEngine``."""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.server
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.harness import Server, running, start_server, upload
from tests.service.media import variants, wav

TOKEN = "webhook-signing-token"
DEADLINE = 60.0


class _Receiver(http.server.BaseHTTPRequestHandler):
    """Records every POST; answers 500 to the first ``fail_first`` of them, 200 after."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        with server.lock:  # type: ignore[attr-defined]
            server.calls.append((dict(self.headers), body))  # type: ignore[attr-defined]
            failing = len(server.calls) <= server.fail_first  # type: ignore[attr-defined]
            server.changed.notify_all()  # type: ignore[attr-defined]
        self.send_response(500 if failing else 204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    httpd.calls, httpd.fail_first, httpd.lock = [], 1, threading.Lock()  # type: ignore[attr-defined]
    httpd.changed = threading.Condition(httpd.lock)  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()


def _calls(httpd, count: int) -> list[tuple[dict, bytes]]:
    """The first ``count`` requests the receiver got, once it has them."""
    with httpd.changed:
        assert httpd.changed.wait_for(lambda: len(httpd.calls) >= count, timeout=DEADLINE)
        return list(httpd.calls[:count])


def _webhook_state(server: Server, job_id: str, state: str) -> dict:
    """The job once its webhook is in ``state`` (delivery is recorded right after the receiver answers)."""
    deadline = time.monotonic() + DEADLINE
    with server.client() as client:
        while (job := client.get(f"/v1/jobs/{job_id}").json())["webhook"]["state"] != state:
            assert time.monotonic() < deadline, job
            time.sleep(0.02)
    return job


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("hooks") / "state", token=TOKEN, webhook_backoff=0.05, webhook_attempts=3
    )
    yield srv
    srv.stop()


def test_a_finished_job_is_posted_signed_and_retried_after_a_failure(server, receiver, speech_clip, tmp_path):
    hook = f"http://127.0.0.1:{receiver.server_port}/hook"
    with server.client() as client:
        fields = {"webhook_url": hook, "options": "{}"}
        files = {"file": ("talk.wav", wav(speech_clip, tmp_path / "talk.wav").read_bytes())}
        job_id = client.post("/v1/jobs", files=files, data=fields).json()["id"]
    assert server.wait_job(job_id)["state"] == "done"
    calls = _calls(receiver, 2)
    for headers, body in calls:
        timestamp = headers["X-Subgen-Timestamp"]
        expected = hmac.new(TOKEN.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert headers["X-Subgen-Signature"] == f"sha256={expected}"
        payload = json.loads(body)
        assert payload["event"] == "job.done" and payload["job"]["id"] == job_id
        assert payload["job"]["items"][0]["status"] == "ok"
    job = _webhook_state(server, job_id, "delivered")
    assert job["webhook"] == {"url": hook, "state": "delivered", "attempts": 2}


def test_a_webhook_nobody_answers_is_given_up_after_the_last_attempt(server, speech_clip, tmp_path):
    with server.client() as client:
        clip = wav(speech_clip, tmp_path / "lonely.wav")
        fields = {"webhook_url": "http://127.0.0.1:9/nobody-listens", "options": '{"max_chars": 40}'}
        job_id = client.post("/v1/jobs", files={"file": (clip.name, clip.read_bytes())}, data=fields).json()["id"]
    server.wait_job(job_id)
    assert _webhook_state(server, job_id, "failed")["webhook"]["attempts"] == 3


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def media_site(speech_clip: Path, tmp_path: Path) -> Iterator[str]:
    """A loopback web server with ``talk.mp4`` on it; its base URL."""
    folder = tmp_path / "site"
    folder.mkdir()
    shutil.copy(speech_clip, folder / "talk.mp4")
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_url_jobs_download_when_allowed(media_site, tmp_path):
    with running(tmp_path / "state", allow_urls=True) as srv, srv.client() as client:
        response = client.post("/v1/jobs", json={"url": f"{media_site}/talk.mp4", "options": {"format": "vtt"}})
        assert response.status_code == 202, response.text
        job = srv.wait_job(response.json()["id"])
        assert job["state"] == "done" and job["kind"] == "url" and job["items"][0]["status"] == "ok", job
        assert client.get(f"/v1/jobs/{job['id']}/result", params={"format": "vtt"}).text.startswith("WEBVTT")
        assert "media" not in job["links"]
        refused = client.post("/v1/jobs", json={"url": "file:///etc/passwd"})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "url"


def test_metrics_count_jobs_and_audio_and_logs_are_json_lines(server, speech_clip, tmp_path):
    with server.client() as client:
        job = server.wait_job(upload(client, wav(speech_clip, tmp_path / "m.wav"), {"max_lines": 1}).json()["id"])
        metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = dict(re.findall(r"^(subgen_\S+) (\S+)$", metrics.text, re.M))
    assert values["subgen_up"] == "1" and values["subgen_queue_depth"] == "0"
    assert int(values['subgen_jobs{state="done"}']) >= 1
    assert float(values["subgen_audio_seconds_total"]) >= job["audio_seconds"] > 0
    assert float(values["subgen_realtime_factor"]) > 0
    for name in ("subgen_jobs", "subgen_audio_seconds_total", "subgen_realtime_factor", "subgen_queue_depth"):
        assert f"# TYPE {name} " in metrics.text
    records = [json.loads(line) for line in server.log_lines()]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    access = [r for r in records if r["logger"] == "uvicorn.access" and r.get("path") == "/metrics"]
    assert access and access[-1]["status"] == 200 and access[-1]["method"] == "GET"
    finished = [r for r in records if r.get("job") == job["id"] and r["logger"] == "subgen.service.worker"]
    assert [r.get("state") for r in finished] == [None, "done"], "started, then done, with the job as a field"


def test_a_job_cancelled_in_the_queue_still_calls_its_webhook(server, receiver, speech_clip, tmp_path):
    receiver.fail_first = 0
    hook = f"http://127.0.0.1:{receiver.server_port}/cancelled"
    first, second = variants(speech_clip, tmp_path, 2, stem="hold")
    with server.client() as client:
        running = upload(client, first, {"initial_prompt": "gate:hooks"}).json()["id"]
        server.wait_job(running, lambda job: job["state"] == "running")
        files = {"file": (second.name, second.read_bytes())}
        queued = client.post("/v1/jobs", files=files, data={"webhook_url": hook}).json()["id"]
        assert client.post(f"/v1/jobs/{queued}/cancel").json()["state"] == "cancelled"
    [(headers, body)] = _calls(receiver, 1)
    assert headers["X-Subgen-Event"] == "job.cancelled" and json.loads(body)["job"]["id"] == queued
    server.open_gate("hooks")
    assert server.wait_job(running)["state"] == "done"
