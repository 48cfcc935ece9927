"""A bounded load test on loopback: 50 concurrent OpenAI-style requests, each a different short real-speech clip,
against the real model. None is lost, none is decoded twice; latency percentiles and throughput are printed
(run with ``-s`` to see them)."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.service.harness import start_server
from tests.service.media import variants

pytestmark = pytest.mark.model
REQUESTS = 50
CARDS = [f"en_pocketsphinx_cards_00{n}" for n in range(1, 6)]


def test_fifty_concurrent_requests_all_answered_once(corpus, tmp_path):
    clips = [c for stem in CARDS for c in variants(corpus / f"{stem}.wav", tmp_path / "clips", 10, stem=stem)]
    assert len(clips) == REQUESTS
    server = start_server(tmp_path / "state", fake=False, model="tiny.en")
    try:

        def send(clip: Path) -> tuple[float, httpx.Response]:
            started = time.monotonic()
            with httpx.Client(base_url=server.url, timeout=600) as client:
                files = {"file": (clip.name, clip.read_bytes())}
                response = client.post("/v1/audio/transcriptions", files=files, data={"model": "whisper-1"})
            return time.monotonic() - started, response

        began = time.monotonic()
        with ThreadPoolExecutor(REQUESTS) as pool:
            answers = list(pool.map(send, clips))
        wall = time.monotonic() - began
        with server.client() as client:
            jobs = client.get("/v1/jobs", params={"limit": 1000}).json()["data"]
            metrics = client.get("/metrics").text
    finally:
        server.stop()

    assert [r.status_code for _, r in answers] == [200] * REQUESTS, [r.text for _, r in answers if r.status_code != 200]
    assert all(r.json()["text"].strip() for _, r in answers), "every clip's speech came back as text"
    ids = [r.headers["X-Subgen-Job"] for _, r in answers]
    assert len(set(ids)) == REQUESTS, "one job per distinct clip"
    assert sorted(j["id"] for j in jobs) == sorted(ids), "no job lost, none extra"
    assert {(j["state"], j["decodes"], j["runs"]) for j in jobs} == {("done", 1, 1)}, "each decoded exactly once"
    assert f'subgen_submissions_total{{outcome="created"}} {REQUESTS}' in metrics
    latencies = sorted(seconds for seconds, _ in answers)
    p50 = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[18]
    audio = sum(j["audio_seconds"] for j in jobs)
    print(
        f"\nload: {REQUESTS} concurrent requests, all 200, {len(set(ids))} jobs, each decoded once; "
        f"latency p50 {p50:.2f} s, p95 {p95:.2f} s, max {latencies[-1]:.2f} s; "
        f"throughput {REQUESTS / wall:.2f} requests/s ({audio:.0f} s of audio in {wall:.1f} s)"
    )
