"""The jobs API over real HTTP (uvicorn in a subprocess, httpx): uploads, server-side paths (a folder is a batch),
results in every format, Server-Sent Events, idempotency, cancel. The server decodes with ``FakeEngine`` (these
are tests of the service, not of speech recognition; the real model is in test_service_openai and _bazarr)."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.service.harness import error_of, start_server, upload
from tests.service.media import variants, wav


@pytest.fixture(scope="module")
def media(speech_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of speech WAVs: ``talk.wav``, ``season 1/ep-00.wav`` and ``ep-01.wav``."""
    root = tmp_path_factory.mktemp("media")
    wav(speech_clip, root / "talk.wav")
    variants(speech_clip, root / "season 1", 2, stem="ep")
    return root


@pytest.fixture(scope="module")
def server(media: Path, tmp_path_factory: pytest.TempPathFactory):
    srv = start_server(tmp_path_factory.mktemp("jobs") / "state", roots=(media,))
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    return server.client()


def test_an_upload_becomes_a_job_that_runs_once_and_serves_every_format(server, client, media):
    response = upload(client, media / "talk.wav", {"format": "srt,vtt", "language": "en"})
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["state"] in ("queued", "running") and response.headers["Location"] == f"/v1/jobs/{created['id']}"
    job = server.wait_job(created["id"])
    assert job["state"] == "done" and job["decodes"] == 1 and job["runs"] == 1, job
    assert job["source"] == "talk.wav" and job["options"] == {"format": ["srt", "vtt"], "language": "en"}
    [item] = job["items"]
    assert item["status"] == "ok" and item["language"] == "en" and item["results"] == ["en"]
    assert item["audio_seconds"] > 1 and job["progress"]["audio_seconds_done"] == pytest.approx(item["audio_seconds"])
    bodies = {}
    for fmt in ("srt", "vtt", "json", "txt", "ass", "tsv"):
        result = client.get(f"/v1/jobs/{job['id']}/result", params={"format": fmt})
        assert result.status_code == 200, result.text
        bodies[fmt] = result.text
    assert bodies["srt"].startswith("1\n00:00:") and "segment 0" in bodies["srt"]
    assert bodies["vtt"].startswith("WEBVTT") and "[Script Info]" in bodies["ass"]
    assert json.loads(bodies["json"])["language"] == "en" and bodies["txt"].startswith("segment 0")
    assert bodies["tsv"].startswith("start\tend\ttext\n")
    assert client.get(f"/v1/jobs/{job['id']}/media").content == (media / "talk.wav").read_bytes()
    listed = client.get("/v1/jobs", params={"state": "done"}).json()["data"]
    assert job["id"] in [j["id"] for j in listed] and all(j["state"] == "done" for j in listed)


def test_events_stream_the_job_from_running_to_done(server, client, media, tmp_path):
    clip = shutil.copy(media / "talk.wav", tmp_path / "events.wav")
    job_id = upload(client, Path(clip), {"initial_prompt": "gate:events"}).json()["id"]
    seen = []
    for snapshot in server.events(job_id):
        seen.append(snapshot)
        if snapshot["state"] == "running" and snapshot["stage"] == "decoding":
            server.open_gate("events")  # the decoder is held until the stream has shown the running job
    states = [s["state"] for s in seen]
    assert "running" in states and states[-1] == "done" and states.index("running") < len(states) - 1
    final = seen[-1]
    assert final["audio_seconds"] > 1 and final["progress"]["audio_seconds_done"] == pytest.approx(
        final["audio_seconds"]
    )


def test_the_same_upload_sent_five_times_at_once_decodes_once(server, media, tmp_path):
    clip = Path(shutil.copy(media / "talk.wav", tmp_path / "same.wav"))

    def send(_: int) -> tuple[int, str]:
        with server.client() as c:
            response = upload(c, clip, {"initial_prompt": "gate:five"})
            return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(send, range(5)))
    ids = {job_id for _, job_id in answers}
    assert len(ids) == 1, answers
    assert sorted(code for code, _ in answers) == [200, 200, 200, 200, 202]
    server.open_gate("five")
    job = server.wait_job(ids.pop())
    assert job["state"] == "done" and job["decodes"] == 1 and job["runs"] == 1
    with server.client() as c:
        again = upload(c, clip, {"initial_prompt": "gate:five"})
    assert again.status_code == 200 and again.json()["id"] == job["id"], "a finished job is returned, not redone"


def test_an_idempotency_key_returns_its_job_and_refuses_other_media(server, client, media, tmp_path):
    clips = variants(media / "talk.wav", tmp_path, 2, stem="keyed")
    first = upload(client, clips[0], {}, **{"Idempotency-Key": "episode-42"})
    again = upload(client, clips[0], {}, **{"Idempotency-Key": "episode-42"})
    assert first.status_code == 202 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = upload(client, clips[1], {}, **{"Idempotency-Key": "episode-42"})
    assert other.status_code == 409 and error_of(other)["code"] == "idempotency_key_reused"
    changed = upload(client, clips[0], {"max_chars": 30}, **{"Idempotency-Key": "episode-42"})
    assert changed.status_code == 409
    assert server.wait_job(first.json()["id"])["decodes"] == 1


def test_a_folder_is_a_batch_whose_subtitles_land_beside_the_media(server, client, media):
    season = media / "season 1"
    response = client.post("/v1/jobs", json={"path": str(season), "options": {"format": ["srt", "vtt"]}})
    assert response.status_code == 202, response.text
    job = server.wait_job(response.json()["id"])
    assert job["state"] == "done" and job["progress"]["items_total"] == 2
    assert [i["status"] for i in job["items"]] == ["ok", "ok"]
    for item in job["items"]:
        stem = Path(item["source"]).with_suffix("")
        assert sorted(item["outputs"]) == [f"{stem}.en.srt", f"{stem}.en.vtt"]
        assert Path(f"{stem}.en.srt").read_text(encoding="utf-8").startswith("1\n")
    assert not list(season.glob("*.en.json")), "the result document stays in the job's folder"
    recorded = json.loads((season / ".subgen-languages.json").read_text(encoding="utf-8"))
    assert recorded == {"ep-00": "en", "ep-01": "en"}, "like subgen run, the languages written are recorded"
    second = client.get(f"/v1/jobs/{job['id']}/result", params={"item": 1, "format": "txt"})
    assert second.status_code == 200 and second.text.startswith("segment 0")
    repeat = client.post("/v1/jobs", json={"path": "season 1", "options": {"format": "vtt,srt"}})
    assert repeat.status_code == 200 and repeat.json()["id"] == job["id"], "relative to the root, same job"


def test_a_new_episode_makes_a_new_job_that_skips_the_subtitled_ones(server, client, media, tmp_path):
    folder = media / "season 2"
    variants(media / "talk.wav", folder, 1, stem="ep")
    first = server.wait_job(client.post("/v1/jobs", json={"path": str(folder)}).json()["id"])
    assert [i["status"] for i in first["items"]] == ["ok"]
    variants(media / "talk.wav", tmp_path, 2, stem="ep")[1].rename(folder / "ep-01.wav")
    response = client.post("/v1/jobs", json={"path": str(folder)})
    assert response.status_code == 202, "the folder changed: a new job"
    job = server.wait_job(response.json()["id"])
    assert [i["status"] for i in job["items"]] == ["skipped", "ok"] and job["state"] == "done"
    skipped = client.get(f"/v1/jobs/{job['id']}/result", params={"item": 0})
    assert skipped.status_code == 409 and "existed already" in error_of(skipped)["message"]


def test_outputs_can_go_to_an_output_dir_inside_the_roots_only(server, client, media, tmp_path):
    inside = client.post("/v1/jobs", json={"path": "talk.wav", "options": {"output_dir": str(media / "subs")}})
    job = server.wait_job(inside.json()["id"])
    assert job["items"][0]["outputs"] == [str(media / "subs" / "talk.en.srt")]
    outside = client.post("/v1/jobs", json={"path": "talk.wav", "options": {"output_dir": str(tmp_path)}})
    assert outside.status_code == 403 and error_of(outside)["param"] == "output_dir"


def test_cancel_stops_a_queued_job_at_once_and_a_running_one_at_its_next_step(server, client, media, tmp_path):
    running_clip, queued_clip = variants(media / "talk.wav", tmp_path, 2, stem="cancel")
    running = upload(client, running_clip, {"initial_prompt": "gate:cancel"}).json()["id"]
    server.wait_job(running, lambda j: j["state"] == "running")
    queued = upload(client, queued_clip, {}).json()["id"]
    assert client.post(f"/v1/jobs/{queued}/cancel").json()["state"] == "cancelled"
    marked = client.post(f"/v1/jobs/{running}/cancel").json()
    assert marked["state"] == "running" and marked["cancel_requested"] is True
    server.open_gate("cancel")
    job = server.wait_job(running)
    assert job["state"] == "cancelled" and job["decodes"] == 0
    result = client.get(f"/v1/jobs/{running}/result")
    assert result.status_code == 409 and error_of(result)["code"] == "job_cancelled"
    done = upload(client, media / "talk.wav", {"format": "srt,vtt", "language": "en"}).json()["id"]
    server.wait_job(done)
    assert client.post(f"/v1/jobs/{done}/cancel").status_code == 409
    retried = upload(client, queued_clip, {})
    assert retried.status_code == 202, "after a cancel the same media makes a new job"
