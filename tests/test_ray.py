"""``subgen run --ray``: the same batch on a local Ray (two CPUs), with the real tiny.en model and corpus speech.

One Ray instance serves the module. Its tests compare the Ray run with the local one file for file, and prove the
local guarantees hold on Ray: a bad item fails alone (exit 1), a killed decoder actor is restarted and its items
retried with each output written once, and a rerun after an interrupted run does only the missing items.
"""

from __future__ import annotations

import functools
import http.server
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_video
from typer.testing import CliRunner

from subgen.cli import app
from subgen.core.events import Event, ItemFinished
from subgen.core.options import OutputOptions, RunOptions, TranscribeOptions
from subgen.core.paths import TEMP_MARK
from subgen.core.results import ItemStatus
from subgen.sources.inputs import expand_inputs

pytestmark = pytest.mark.model  # real tiny.en on corpus speech, decoded by Ray actors

CLIPS = (
    "en_pocketsphinx_cards_001.wav",
    "en_ljspeech_LJ001-0002.flac",
    "en_librispeech_1089-134691-0000.flac",
    "en_librispeech_1089-134686-0001.flac",
)
"""Four short utterances (1-3.5 s): each one decoder window, so they share the decoder's batches locally."""
MODEL = "tiny.en"
QUIET_WAIT = 120.0
"""Seconds an interrupted run's tasks and actors get to stop (their CPUs back to the pool)."""


@pytest.fixture(scope="module")
def local_ray() -> Iterator[object]:
    """A local Ray on two CPUs for the module; its session files in a short /tmp folder (Ray's socket paths must
    stay under 107 bytes), removed afterwards."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'subgen-batch[ray]')")
    temp = tempfile.mkdtemp(prefix="subgen-ray-")
    try:
        ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, logging_level=logging.ERROR)
    except Exception as exc:  # a sandbox without shared memory or sockets: nothing here can run
        shutil.rmtree(temp, ignore_errors=True)
        pytest.skip(f"Ray cannot start on this machine: {exc}")
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def media(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four clips as small videos, made once."""
    folder = tmp_path_factory.mktemp("ray-media")
    for name in CLIPS:
        make_video(corpus / name, folder / f"{Path(name).stem}.mp4")
    return folder


@pytest.fixture(scope="module")
def served(media: Path) -> Iterator[str]:
    """The clips over HTTP on a loopback port (the base URL): URL items are downloaded by the Ray workers."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(media))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def clips(media: Path, tmp_path: Path) -> Path:
    """A fresh copy of the clips for one test (outputs land next to them unless -o)."""
    folder = tmp_path / "clips"
    shutil.copytree(media, folder)
    return folder


def options(out: Path) -> RunOptions:
    return RunOptions(transcribe=TranscribeOptions(model=MODEL), output=OutputOptions(output_dir=out))


def srts(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.srt"))}


def wait_until_idle(ray, timeout: float = QUIET_WAIT) -> None:
    """Wait until every CPU of the local Ray is free again: no task or actor of the last run is still working."""
    deadline = time.monotonic() + timeout
    while ray.available_resources().get("CPU", 0) < ray.cluster_resources().get("CPU", 0):
        assert time.monotonic() < deadline, f"Ray still busy: {ray.available_resources()}"
        time.sleep(0.1)


def test_the_ray_run_writes_the_local_runs_subtitles_byte_for_byte(local_ray, clips, tmp_path):
    import subgen
    from subgen.distributed import RayOptions, run_on_ray

    local = subgen.run_batch([clips], options(tmp_path / "local"))
    # Two actors, two items per call: the items' windows share other batches than locally, and decode the same.
    spread = RayOptions(actors=2, items_per_call=2)
    ray_run = run_on_ray(expand_inputs([str(clips)]), options(tmp_path / "ray"), spread)
    assert [r.status for r in ray_run.results] == [ItemStatus.OK] * len(CLIPS)
    assert [r.source for r in ray_run.results] == [r.source for r in local]
    assert [(r.language, r.audio_seconds) for r in ray_run.results] == [(r.language, r.audio_seconds) for r in local]
    written = srts(tmp_path / "ray")
    assert len(written) == len(CLIPS) and written == srts(tmp_path / "local")
    assert b"clubs" in written["en_pocketsphinx_cards_001.en.srt"].lower()
    assert (ray_run.engine, ray_run.device) == ("faster-whisper", "cpu") and ray_run.load_seconds > 0


def test_a_bad_item_fails_alone_with_the_local_summary_report_and_exit_code(local_ray, clips, served, tmp_path):
    bad = clips / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))  # a cut-off download: an mp4 header, then noise
    url = f"{served}/{Path(CLIPS[0]).stem}.mp4"
    report, out, downloads = tmp_path / "report.json", tmp_path / "out", tmp_path / "downloads"
    args = ["run", str(clips), url, "--model", MODEL, "-o", str(out), "--download-dir", str(downloads)]
    result = CliRunner().invoke(app, [*args, "--report", str(report), "--ray"])
    assert result.exit_code == 1, result.output
    assert "subgen summary" in result.stderr and "5 ok, 0 skipped, 1 failed" in result.stderr
    data = json.loads(report.read_text())
    assert data["model"] == MODEL and (data["engine"], data["device"]) == ("faster-whisper", "cpu")
    items = {Path(i["source"]).name: i for i in data["items"] if i["source"] != url}
    assert items["broken.mp4"]["status"] == "failed" and "broken.mp4" in items["broken.mp4"]["error"]
    good = [items[f"{Path(name).stem}.mp4"] for name in CLIPS]
    assert all(i["status"] == "ok" and i["language"] == "en" and i["realtime_factor"] > 0 for i in good)
    assert [i["outputs"] for i in good] == [[str(out / f"{Path(name).stem}.en.srt")] for name in CLIPS]
    [fetched] = [i for i in data["items"] if i["source"] == url]
    assert fetched["status"] == "ok" and fetched["outputs"][0].endswith(".en.srt")
    assert [p.suffix for p in downloads.iterdir() if not p.name.startswith(".")] == [".mp4"], "downloaded once"
    assert len(list(out.glob("*.srt"))) == len(CLIPS) + 1


def test_a_killed_decoder_actor_is_restarted_and_each_output_is_written_once(local_ray, clips, tmp_path):
    from subgen.distributed import RayOptions, run_on_ray
    from subgen.distributed.stages import Decoder

    died, calls = tmp_path / "died", tmp_path / "calls"

    class DyingDecoder(Decoder):
        """Dies like an out-of-memory kill when it is handed item 2, once (the marker file says it did)."""

        def __call__(self, batch):
            indexes = batch.column("index").to_pylist()
            if 2 in indexes and not died.exists():
                died.write_text(str(os.getpid()))
                os._exit(1)
            with calls.open("a") as log:
                log.write(f"{os.getpid()} {indexes}\n")
            return super().__call__(batch)

    out = tmp_path / "out"
    run = run_on_ray(expand_inputs([str(clips)]), options(out), RayOptions(items_per_call=1), decoder=DyingDecoder)
    assert died.exists(), "the actor never died: the test proved nothing"
    served = [line.split(" ", 1) for line in calls.read_text().splitlines()]
    assert any(pid != died.read_text() and "2" in items for pid, items in served), "item 2 was not retried"
    assert [r.status for r in run.results] == [ItemStatus.OK] * len(CLIPS)
    assert len({r.source for r in run.results}) == len(CLIPS)
    outputs = [p for r in run.results for p in r.outputs]
    assert len(outputs) == len(set(outputs)) == len(CLIPS)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(p.name for p in outputs)
    assert not list(out.glob(f"*{TEMP_MARK}")), "a half-written file was left behind"


def test_an_item_that_kills_its_actor_every_time_fails_alone(local_ray, clips, tmp_path):
    from subgen.distributed import RayOptions, run_on_ray
    from subgen.distributed.stages import Decoder

    class Poisoned(Decoder):
        """Dies whenever it is handed item 1, as a file that crashes a native library would make it."""

        def __call__(self, batch):
            if 1 in batch.column("index").to_pylist():
                os._exit(1)
            return super().__call__(batch)

    run = run_on_ray(expand_inputs([str(clips)]), options(tmp_path), RayOptions(items_per_call=1), decoder=Poisoned)
    assert [r.status for r in run.results] == [ItemStatus.OK, ItemStatus.FAILED, ItemStatus.OK, ItemStatus.OK]
    assert "a Ray worker failed on it 4 times" in (run.results[1].error or "")
    assert len(list(tmp_path.glob("*.srt"))) == len(CLIPS) - 1


def test_a_rerun_after_an_interrupted_run_does_only_the_missing_items(local_ray, clips, tmp_path):
    from subgen.distributed import RayOptions, run_on_ray
    from subgen.distributed.stages import Decoder

    class OneCallOnly(Decoder):
        """Decodes the first call it gets; holds any later one until the interrupted run shuts the pool down."""

        served = False

        def __call__(self, batch):
            deadline = time.monotonic() + QUIET_WAIT
            while self.served and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not self.served, "the interrupted run left its decoder actor running"
            self.served = True
            return super().__call__(batch)

    def ctrl_c_after_the_first_item(event: Event) -> None:
        if isinstance(event, ItemFinished):
            raise KeyboardInterrupt

    out, items = tmp_path / "out", expand_inputs([str(clips)])
    first = run_on_ray(
        items, options(out), RayOptions(items_per_call=1), ctrl_c_after_the_first_item, decoder=OneCallOnly
    )
    assert first.interrupted and [r.status for r in first.results] == [ItemStatus.OK]
    wait_until_idle(local_ray)
    done = sorted(p.name for p in out.glob("*.srt"))
    assert done == [first.results[0].outputs[0].name]
    stale = out / f".{Path(items[1].source).stem}.en.srt.abc123{TEMP_MARK}"
    stale.write_text("1\n00:00:00,000 --> 00:00", encoding="utf-8")  # what a kill during a write leaves

    rerun = run_on_ray(items, options(out), RayOptions(items_per_call=1))
    statuses = {Path(r.source).stem: r.status for r in rerun.results}
    assert [s for s in statuses.values() if s == ItemStatus.SKIPPED] == [ItemStatus.SKIPPED]
    assert statuses[Path(first.results[0].source).stem] == ItemStatus.SKIPPED
    assert sum(s == ItemStatus.OK for s in statuses.values()) == len(CLIPS) - 1
    assert len(list(out.glob("*.srt"))) == len(CLIPS) and not stale.exists()
