"""Ctrl-C and hard kills mid-batch: exit 130, no temp files, no half-written subtitles, rerun resumes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pysrt
import pytest

from subgen.core.paths import TEMP_MARK

pytestmark = pytest.mark.model  # real runs of the bundled tiny.en in a subprocess

REPO = Path(__file__).resolve().parent.parent
FORMATS = ("srt", "vtt", "json")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "batch"
    root.mkdir()
    for i in range(5):
        shutil.copy(REPO / "samples" / "jfk.mp4", root / f"part{i}.mp4")
    return root


def _start(folder: Path, report: Path) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "subgen",
        "--quiet",
        "run",
        str(folder),
        "--model",
        "tiny.en",
        "--format",
        ",".join(FORMATS),
        "--report",
        str(report),
        # One window per decoder call, so the five files finish one after another (not in one shared batch).
        "--batch-size",
        "1",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})


def _wait_for_first_output(folder: Path, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not list(folder.glob("*.en.json")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no item finished in time"
        time.sleep(0.05)


def _assert_outputs_complete(folder: Path) -> set[str]:
    """Every subtitle under its final name parses; returns the stems that are finished."""
    for srt in folder.glob("*.srt"):
        assert "country" in " ".join(i.text for i in pysrt.open(str(srt), encoding="utf-8"))
    for vtt in folder.glob("*.vtt"):
        assert vtt.read_text(encoding="utf-8").startswith("WEBVTT") and "country" in vtt.read_text(encoding="utf-8")
    for js in folder.glob("*.en.json"):
        assert json.loads(js.read_text(encoding="utf-8"))["language"] == "en"
    return {p.name.split(".")[0] for p in folder.glob("*.en.json")}


def test_ctrl_c_exits_130_cleanly_and_rerun_finishes(folder, tmp_path):
    report = tmp_path / "report.json"
    proc = _start(folder, report)
    _wait_for_first_output(folder, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr.decode()
    assert "interrupted" in stderr.decode()
    assert not list(folder.glob(f"*{TEMP_MARK}"))
    done = _assert_outputs_complete(folder)
    assert 1 <= len(done) < 5
    data = json.loads(report.read_text())
    assert (
        data["interrupted"] is True and {Path(i["source"]).stem for i in data["items"] if i["status"] == "ok"} == done
    )

    rerun = _start(folder, report)
    _, stderr = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr.decode()
    statuses = {Path(i["source"]).stem: i["status"] for i in json.loads(report.read_text())["items"]}
    assert {s for s, st in statuses.items() if st == "skipped"} == done
    assert _assert_outputs_complete(folder) == {f"part{i}" for i in range(5)}


def test_hard_kill_leaves_only_complete_files_and_rerun_cleans_up(folder, tmp_path):
    report = tmp_path / "report.json"
    proc = _start(folder, report)
    _wait_for_first_output(folder, proc)
    time.sleep(1.5)
    proc.kill()
    proc.wait(timeout=60)
    done = _assert_outputs_complete(folder)
    # What a kill during a write leaves behind: a temp file next to the outputs, never a partial final file.
    stale = folder / f".part4.en.srt.abc123{TEMP_MARK}"
    stale.write_text("1\n00:00:00,000 --> 00:00", encoding="utf-8")
    rerun = _start(folder, report)
    _, stderr = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, stderr.decode()
    assert not stale.exists() and not list(folder.glob(f"*{TEMP_MARK}"))
    assert _assert_outputs_complete(folder) == {f"part{i}" for i in range(5)}
    assert done <= {Path(i["source"]).stem for i in json.loads(report.read_text())["items"] if i["status"] == "skipped"}
