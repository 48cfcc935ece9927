"""Crash and restart: the server is killed (SIGKILL) with one job running and two queued, then started again on
the same state folder. Every job finishes, none twice, and the job finished before the crash keeps its result.
The server decodes with ``FakeEngine`` (a gate holds the running job in its decode until the crash)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.service.harness import Server, start_server, upload
from tests.service.media import variants, wav


@pytest.fixture
def launch():
    """``start_server`` for this test; every server it started is stopped afterwards, passed or failed."""
    started: list[Server] = []

    def start(*args, **kwargs) -> Server:
        started.append(start_server(*args, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _results(client, job_id: str) -> dict[str, str]:
    return {fmt: client.get(f"/v1/jobs/{job_id}/result", params={"format": fmt}).text for fmt in ("srt", "json")}


def test_a_killed_server_resumes_its_queue_and_keeps_finished_results(launch, speech_clip, tmp_path):
    state = tmp_path / "state"
    clips = variants(speech_clip, tmp_path / "media", 4)
    first = launch(state)
    client = first.client()
    finished = upload(client, clips[0], {"format": "srt,vtt"}).json()["id"]
    assert first.wait_job(finished)["state"] == "done"
    before = _results(client, finished)
    running = upload(client, clips[1], {"initial_prompt": "gate:restart"}).json()["id"]
    first.wait_job(running, lambda job: job["state"] == "running" and job["stage"] == "decoding")
    queued = [upload(client, clip, {"initial_prompt": "gate:restart"}).json()["id"] for clip in clips[2:]]
    assert [client.get(f"/v1/jobs/{j}").json()["state"] for j in queued] == ["queued", "queued"]

    first.kill()
    first.open_gate("restart")
    second = launch(state)
    client = second.client()
    resumed = [second.wait_job(job_id) for job_id in (running, *queued)]

    assert [job["state"] for job in resumed] == ["done", "done", "done"]
    assert [(job["runs"], job["decodes"]) for job in resumed] == [(2, 1), (1, 1), (1, 1)], "each decoded once"
    listed = client.get("/v1/jobs", params={"limit": 100}).json()["data"]
    assert sorted(job["id"] for job in listed) == sorted([finished, running, *queued]), "no job lost or doubled"
    kept = client.get(f"/v1/jobs/{finished}").json()
    assert (kept["state"], kept["runs"], kept["decodes"]) == ("done", 1, 1)
    assert _results(client, finished) == before, "the finished result survived the crash unchanged"
    for job in resumed:
        assert [item["status"] for item in job["items"]] == ["ok"]
        out = state / "jobs" / job["id"] / "out"
        stem = Path(job["source"]).stem
        files = sorted(p.name for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
        assert files == [f"{stem}.en.json", f"{stem}.en.srt"], "one set of outputs, no half-written temp files"
        assert not list(out.rglob("*.subgen-tmp*"))
        assert json.loads(client.get(f"/v1/jobs/{job['id']}/result", params={"format": "json"}).text)["cues"]
    interrupted = [line for line in second.log_lines() if "was interrupted" in line]
    assert len(interrupted) == 1 and running in interrupted[0]
    print(
        f"\nrestart: killed with 1 running + 2 queued; after restart {len(resumed)} of {len(resumed)} done, "
        f"decodes {[job['decodes'] for job in resumed]}, runs {[job['runs'] for job in resumed]}, "
        "finished result unchanged"
    )


def test_a_stopped_server_puts_its_running_job_back_in_the_queue(launch, speech_clip, tmp_path):
    state = tmp_path / "state"
    [clip] = variants(speech_clip, tmp_path / "media", 1)
    first = launch(state)
    with first.client() as client:
        job_id = upload(client, clip, {"initial_prompt": "gate:stop"}).json()["id"]
    first.wait_job(job_id, lambda job: job["state"] == "running" and job["stage"] == "decoding")
    first.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 60
    while not any("goes back to the queue" in line for line in first.log_lines()):  # the worker knows it stops
        assert first.proc.poll() is None and time.monotonic() < deadline, "\n".join(first.log_lines())
        time.sleep(0.02)
    first.open_gate("stop")  # the decode returns; the run stops at its next progress step
    assert first.proc.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
    lines = first.log_lines()
    assert any("interrupted by shutdown" in line for line in lines)
    assert any("Application shutdown complete" in line for line in lines), "a clean stop"
    second = launch(state)
    job = second.wait_job(job_id)
    second.stop()
    assert (job["state"], job["runs"], job["decodes"]) == ("done", 2, 1)
    assert not any("was interrupted" in line for line in second.log_lines()), "it was queued, not left running"


def test_a_resumed_folder_job_keeps_its_items_and_decodes_only_the_unfinished(launch, speech_clip, tmp_path):
    folder = tmp_path / "media" / "season"
    wav(speech_clip, folder / "a.wav")
    wav(speech_clip, folder / "held-b.wav")  # without VAD the fake engine holds this file until its gate opens
    state = tmp_path / "state"
    first = launch(state, roots=(tmp_path / "media",))
    with first.client() as client:
        job_id = client.post("/v1/jobs", json={"path": "season", "options": {"vad": False}}).json()["id"]
    held = first.wait_job(job_id, lambda job: job["progress"]["items_done"] == 1)
    assert [(Path(i["source"]).name, i["status"]) for i in held["items"]] == [
        ("a.wav", "ok"),
        ("held-b.wav", "pending"),
    ]
    wav(speech_clip, folder / "0-new.wav")  # sorts first: a fresh listing would renumber the items
    first.kill()
    first.open_gate("held-b")
    second = launch(state, roots=(tmp_path / "media",))
    job = second.wait_job(job_id)
    second.stop()
    assert (job["state"], job["runs"], job["decodes"]) == ("done", 2, 1)
    assert [(Path(i["source"]).name, i["status"]) for i in job["items"]] == [("a.wav", "ok"), ("held-b.wav", "ok")]
    assert job["items"][0] == held["items"][0], "the item finished before the crash was not decoded again"
    assert sorted(p.name for p in folder.glob("*.srt")) == ["a.en.srt", "held-b.en.srt"]
