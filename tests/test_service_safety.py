"""Hostile and broken requests against a real server with a token, a small upload limit and one allowed root:
each gets a clear JSON error with a real status, nothing outside the root is read, and the server stays healthy.
The server decodes with ``FakeEngine``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.service.harness import Server, error_of, start_server, upload
from tests.service.media import variants, wav

TOKEN = "correct-horse-battery-staple"
MiB = 1024 * 1024


@dataclass
class Context:
    root: Path
    outside: Path
    done_job: str
    speech: bytes


@pytest.fixture(scope="module")
def dirs(speech_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("safety")
    root, outside = base / "root", base / "outside"
    wav(speech_clip, root / "talk.wav")
    wav(speech_clip, outside / "secret.wav")
    (root / "escape.wav").symlink_to(outside / "secret.wav")
    (root / "escape-dir").symlink_to(outside)
    wav(speech_clip, root / "mixed" / "ok.wav")
    (root / "mixed" / "linked.wav").symlink_to(outside / "secret.wav")
    return root, outside


@pytest.fixture(scope="module")
def server(dirs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("safe") / "state", token=TOKEN, roots=(dirs[0],), max_upload_mb=1)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def ctx(server, dirs) -> Context:
    with server.client() as client:
        job = upload(client, dirs[0] / "talk.wav", {}).json()["id"]
    assert server.wait_job(job)["state"] == "done"
    return Context(dirs[0], dirs[1], job, (dirs[0] / "talk.wav").read_bytes())


def _file(name: str, data: bytes | None = None, options: str | None = None) -> Callable[..., httpx.Response]:
    """An upload of ``data`` (default: real speech) with ``options`` as the JSON text field."""
    fields = {"options": options} if options is not None else {}
    return lambda c, ctx: c.post("/v1/jobs", files={"file": (name, ctx.speech if data is None else data)}, data=fields)


def _path(path: Callable[[Context], str], **extra) -> Callable[[httpx.Client, Context], httpx.Response]:
    return lambda c, ctx: c.post("/v1/jobs", json={"path": path(ctx), **extra})


def _chunked(size: int) -> Callable[[httpx.Client, Context], httpx.Response]:
    def send(c: httpx.Client, ctx: Context) -> httpx.Response:
        boundary = "subgen-test-boundary"
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n\r\n'.encode()

        def body() -> Iterator[bytes]:  # a generator: httpx sends it chunked, without Content-Length
            yield head
            for _ in range(size // MiB):
                yield b"\0" * MiB
            yield f"\r\n--{boundary}--\r\n".encode()

        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return c.post("/v1/jobs", content=body(), headers=headers)

    return send


CASES = [
    ("not media", _file("notes.mp4", b"this is a text file, not a video\n" * 20), 400, "invalid_media"),
    ("empty upload", _file("empty.wav", b""), 400, "empty_file"),
    ("oversize upload", _file("big.wav", b"\0" * (MiB + MiB // 2)), 413, "file_too_large"),
    ("oversize body", _file("huge.wav", b"\0" * (3 * MiB)), 413, "file_too_large"),
    ("oversize chunked body", _chunked(3 * MiB), 413, "file_too_large"),
    ("malformed JSON options", _file("a.wav", None, "{not json"), 400, "options"),
    ("options not an object", _file("a.wav", None, "[1, 2]"), 400, "options"),
    ("unknown option", _file("a.wav", None, '{"colour": "red"}'), 400, "colour"),
    ("option of the wrong type", _file("a.wav", None, '{"beam_size": "five"}'), 400, "beam_size"),
    ("unknown output format", _file("a.wav", None, '{"format": "srt,docx"}'), 400, "docx"),
    ("video options", _file("a.wav", None, '{"burn": true}'), 400, "burn"),
    ("another model", _file("a.wav", None, '{"model": "base"}'), 400, "model_not_found"),
    ("English-only model asked to translate", _file("a.wav", None, '{"task": "translate"}'), 400, "English-only"),
    ("path outside the roots", _path(lambda ctx: str(ctx.outside / "secret.wav")), 403, "outside"),
    ("dot-dot escape", _path(lambda ctx: "../outside/secret.wav"), 403, "outside"),
    ("absolute dot-dot escape", _path(lambda ctx: f"{ctx.root}/../outside/secret.wav"), 403, "outside"),
    ("symlinked file escape", _path(lambda ctx: "escape.wav"), 403, "outside"),
    ("symlinked folder escape", _path(lambda ctx: "escape-dir/secret.wav"), 403, "outside"),
    ("missing path", _path(lambda ctx: "nope/none.wav"), 404, "no such file"),
    ("output_dir outside the roots", _path(lambda ctx: "talk.wav", options={"output_dir": "/tmp"}), 403, "output_dir"),
    (
        "URL without --allow-urls",
        lambda c, ctx: c.post("/v1/jobs", json={"url": "http://127.0.0.1:1/a.mp4"}),
        403,
        "url",
    ),
    ("path and url", lambda c, ctx: c.post("/v1/jobs", json={"path": "a", "url": "http://x/"}), 400, "exactly one"),
    ("malformed JSON body", lambda c, ctx: c.post("/v1/jobs", content=b'{"path": ', headers=_json()), 400, "JSON"),
    ("unsigned webhook scheme", _path(lambda ctx: "talk.wav", webhook_url="ftp://example/"), 400, "webhook_url"),
    ("unknown result format", lambda c, ctx: c.get(f"/v1/jobs/{ctx.done_job}/result?format=docx"), 400, "docx"),
    ("unknown job", lambda c, ctx: c.get("/v1/jobs/nosuchjob"), 404, "not_found"),
    ("unknown route", lambda c, ctx: c.get("/v2/nothing"), 404, "not_found"),
    ("wrong method", lambda c, ctx: c.delete("/v1/jobs"), 405, "method_not_allowed"),
    ("bad Idempotency-Key", _path(lambda ctx: "talk.wav"), 400, "Idempotency-Key"),
    ("cross-site form post", _file("a.wav"), 403, "cross-site"),
    ("rebound host name", lambda c, ctx: c.get("/v1/jobs", headers={"Host": "evil.example"}), 403, "Host"),
]
HEADERS = {
    "bad Idempotency-Key": {"Idempotency-Key": "k" * 300},
    "cross-site form post": {"Origin": "http://evil.example"},
}


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


@pytest.mark.parametrize(("name", "send", "status", "needle"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_request_gets_a_clear_json_error_and_the_server_stays_healthy(server, ctx, name, send, status, needle):
    headers = {**server.headers(), **HEADERS.get(name, {})}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        response = send(client, ctx)
    error = error_of(response)
    assert response.status_code == status, response.text
    assert needle in json.dumps(error), error
    assert str(server.state_dir) not in error["message"], "no server paths leak into messages"
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_without_the_token_everything_but_health_is_refused(server, ctx):
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    for path in ("/", "/v1/jobs", f"/v1/jobs/{ctx.done_job}", "/metrics", "/openapi.json"):
        response = httpx.get(f"{server.url}{path}")
        assert response.status_code == 401 and error_of(response)["code"] == "invalid_api_key", path
        assert "Bearer" in response.headers["WWW-Authenticate"]
    wrong = httpx.get(f"{server.url}/v1/jobs", headers={"Authorization": "Bearer wrong-token-value"})
    assert wrong.status_code == 401
    basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    assert httpx.get(f"{server.url}/v1/jobs", headers={"Authorization": f"Basic {basic}"}).status_code == 200


def test_a_folder_job_reads_no_file_that_links_outside_the_roots(server, ctx):
    with server.client() as client:
        job = server.wait_job(client.post("/v1/jobs", json={"path": "mixed"}).json()["id"])
    items = {Path(i["source"]).name: i for i in job["items"]}
    assert items["ok.wav"]["status"] == "ok"
    assert items["linked.wav"]["status"] == "failed" and "outside" in items["linked.wav"]["error"]
    assert job["state"] == "done" and job["error"] == "1 of 2 items failed"
    assert sorted(p.name for p in ctx.outside.iterdir()) == ["secret.wav"], "nothing written outside the root"


def test_a_full_queue_answers_429_with_retry_after(speech_clip, tmp_path):
    srv = start_server(tmp_path / "state", max_queue=2)
    try:
        with srv.client() as client:
            first, *queued, extra = variants(speech_clip, tmp_path / "v", 4)
            running = upload(client, first, {"initial_prompt": "gate:queue"}).json()["id"]
            srv.wait_job(running, lambda j: j["state"] == "running")
            waiting = [upload(client, clip, {"initial_prompt": "gate:queue"}) for clip in queued]
            assert [r.status_code for r in waiting] == [202, 202]
            refused = upload(client, extra, {})
            assert refused.status_code == 429 and error_of(refused)["type"] == "rate_limit_error"
            assert int(refused.headers["Retry-After"]) >= 1
            again = upload(client, queued[0], {"initial_prompt": "gate:queue"})
            assert again.status_code == 200, "a repeat joins its job even when the queue is full"
            srv.open_gate("queue")
            assert [srv.wait_job(r.json()["id"])["state"] for r in waiting] == ["done", "done"]
            assert upload(client, extra, {}).status_code == 202
    finally:
        srv.stop()


def test_health_is_503_while_the_model_loads_and_jobs_wait_for_it(speech_clip, tmp_path):
    gate = tmp_path / "load-gate"
    srv = start_server(tmp_path / "state", wait_ready=False, load_gate=gate)
    try:
        loading = httpx.get(f"{srv.url}/health")
        assert loading.status_code == 503 and loading.json()["status"] == "loading"
        with srv.client() as client:
            job = upload(client, wav(speech_clip, tmp_path / "a.wav"), {}).json()
            assert job["state"] == "queued"
            gate.touch()
            assert srv.wait_job(job["id"])["state"] == "done"
        assert httpx.get(f"{srv.url}/health").json()["status"] == "ok"
    finally:
        srv.stop()
