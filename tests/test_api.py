"""The public Python API: transcribe one file, run a batch, engines reused, the README's example."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import subgen
from subgen import api
from subgen.asr.engines.fake import FakeEngine
from subgen.core.events import AudioProgress, ItemFinished, ItemStarted
from subgen.core.results import ItemStatus
from subgen.pipeline.engine import EngineCache

REPO = Path(__file__).resolve().parent.parent
JFK = REPO / "samples" / "jfk.mp4"


def readme_example() -> str:
    """The Python block that follows the api-example marker in the README."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- api-example[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert match, "README lost its API example"
    return match.group(1)


@pytest.fixture
def fake_engines(monkeypatch: pytest.MonkeyPatch) -> list[FakeEngine]:
    """The API's warm-engine cache, loading fake engines (and recording each load)."""
    loaded: list[FakeEngine] = []

    def load(options) -> FakeEngine:
        loaded.append(FakeEngine())
        return loaded[-1]

    monkeypatch.setattr(api, "ENGINES", EngineCache(load))
    return loaded


def test_the_package_exports_its_api_lazily():
    code = (
        "import sys, subgen; assert 'subgen.api' not in sys.modules; "
        "subgen.transcribe; print('torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert proc.stdout.strip() == "False"
    assert set(subgen.__all__) >= {"transcribe", "run_batch", "Result", "ItemResult", "RunOptions", "SubgenError"}
    with pytest.raises(AttributeError):
        subgen.no_such_name  # noqa: B018


def test_transcribe_runs_every_stage_without_writing(speech_clip, fake_engines, tmp_path):
    events = []
    result = subgen.transcribe(speech_clip, on_event=events.append, language="en")
    assert result.language == "en" and result.text.startswith("segment 0")
    assert result.cues and result.segments and result.cues[0].start >= 0
    assert "1\n00:00:" in result.render("srt") and result.render("vtt").startswith("WEBVTT")
    assert isinstance(events[-1], AudioProgress) and events[-1].done == pytest.approx(events[-1].total)
    assert sorted(p.name for p in speech_clip.parent.iterdir()) == ["speech.mp4"], "transcribe writes nothing"
    with pytest.raises(subgen.UsageError, match="unknown format 'docx'"):
        result.render("docx")


def test_the_engine_is_loaded_once_for_many_calls(speech_clip, fake_engines):
    subgen.transcribe(speech_clip, language="en")
    subgen.transcribe(speech_clip, language="en", beam_size=2)
    assert len(fake_engines) == 1, "same model, engine and device: one load"
    subgen.transcribe(speech_clip, language="en", vad=False)
    assert len(fake_engines) == 2, "another decoder layout (no VAD) loads anew"


def test_transcribe_refuses_unknown_options_before_any_work(speech_clip, fake_engines):
    with pytest.raises(subgen.UsageError, match=r"unknown option.*beamsize"):
        subgen.transcribe(speech_clip, beamsize=3)
    with pytest.raises(subgen.UsageError, match="English-only"):
        subgen.transcribe(speech_clip, model="tiny.en", language="de")
    assert fake_engines == []


def test_run_batch_writes_reports_and_emits_typed_events(speech_clip, fake_engines, tmp_path):
    (tmp_path / "a.mp4").write_bytes(speech_clip.read_bytes())
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    events = []
    options = subgen.RunOptions(output=subgen.OutputOptions(formats=("srt", "json")))
    results = subgen.run_batch([tmp_path], options, on_event=events.append)
    assert [(Path(r.source).name, r.status) for r in results] == [("a.mp4", "ok"), ("broken.mp4", "failed")]
    assert results[0].status is ItemStatus.OK and {p.name for p in results[0].outputs} == {"a.en.srt", "a.en.json"}
    assert "broken.mp4" in results[1].error
    started = [e.source for e in events if isinstance(e, ItemStarted)]
    finished = [e.result.source for e in events if isinstance(e, ItemFinished)]
    assert started == [r.source for r in results] and sorted(finished) == sorted(started)
    assert isinstance(events[-1], ItemFinished), "items finish as their windows come back; the last event ends it"
    again = subgen.run_batch([tmp_path / "a.mp4"], options)
    assert again[0].status is ItemStatus.SKIPPED and len(fake_engines) == 1


@pytest.mark.model
def test_transcribe_matches_what_a_batch_writes(tmp_path):
    result = subgen.transcribe(JFK, model="tiny.en")
    assert result.language == "en"
    assert "ask not what your country can do for you" in result.text.lower().replace(",", "")
    video = tmp_path / "jfk.mp4"
    video.write_bytes(JFK.read_bytes())
    options = subgen.RunOptions(
        transcribe=subgen.TranscribeOptions(model="tiny.en"), output=subgen.OutputOptions(formats=("srt", "json"))
    )
    [item] = subgen.run_batch([video], options)
    assert item.status is ItemStatus.OK
    assert (tmp_path / "jfk.en.srt").read_text(encoding="utf-8") == result.render("srt")
    assert (tmp_path / "jfk.en.json").read_text(encoding="utf-8") == result.render("json")


@pytest.mark.model
def test_the_readme_example_runs(tmp_path):
    """The README's API example, run as a user would (from a copy of the repository's samples)."""
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "jfk.mp4").write_bytes(JFK.read_bytes())
    script = tmp_path / "example.py"
    script.write_text(readme_example(), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("en | And so my fellow Americans"), lines[0]
    assert any(line.startswith("finished") and "jfk.mp4" in line for line in lines)
    assert "ok " in proc.stdout and "jfk.en.srt" in proc.stdout
    assert (tmp_path / "samples" / "jfk.en.srt").is_file() and (tmp_path / "samples" / "jfk.en.json").is_file()
