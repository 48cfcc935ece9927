"""The CLI surface: help, usage errors before any model loads, exit codes, the JSON report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subgen.cli import app
from subgen.writers import WRITERS

runner = CliRunner()
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def test_python_dash_m_help_runs_in_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "subgen", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert all(name in proc.stdout for name in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output.splitlines()) > 3


def test_help_does_not_import_torch():
    code = "import sys; from subgen.cli import app; assert 'torch' not in sys.modules; print('light')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "light", proc.stderr


def test_every_format_in_the_cli_is_in_the_writer_registry():
    listed = [line.split("\t")[0] for line in runner.invoke(app, ["formats"]).output.splitlines()]
    assert listed == list(WRITERS)
    help_text = " ".join(runner.invoke(app, ["run", "--help"], terminal_width=200).output.split())
    for name in WRITERS:
        assert name in help_text


def test_models_command_lists_bundled_models():
    output = runner.invoke(app, ["models"]).output
    assert "tiny.en\tbundled" in output and "base\tbundled" in output and "large-v3" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "summarize"], "--task"),
        (["--format", "srt,docx"], "docx"),
        (["--language", "xx"], "--language"),
        (["--device", "tpu"], "--device"),
        (["--model", "no-such-model"], "unknown model"),
        (["--model", "tiny.en", "--language", "de"], "English-only"),
        (["--model", "tiny.en", "--task", "translate"], "English-only"),
        (["--max-chars", "3"], "--max-chars"),
        (["--engine", "whisperx"], "--engine must be one of"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--beam-size", "0"], "--beam-size must be at least 1"),
        (["--window", "3"], "--window must be between 5 and 29 seconds"),
        (["--window", "30"], "--window must be between 5 and 29 seconds"),
    ],
)
def test_usage_errors_exit_2_before_any_model_loads(args, message, cards_clip, monkeypatch):
    def no_load(*a, **k):
        raise AssertionError("a model was loaded despite a usage error")

    monkeypatch.setattr("subgen.engines.load_engine", no_load)
    result = runner.invoke(app, ["run", str(cards_clip), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not list(cards_clip.parent.glob("*.srt"))


def test_cuda_without_a_gpu_is_a_usage_error(cards_clip):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    result = runner.invoke(app, ["run", str(cards_clip), "--device", "cuda"])
    assert result.exit_code == 2 and "no CUDA GPU" in result.output


def test_no_arguments_is_a_usage_error():
    assert runner.invoke(app, ["run"]).exit_code == 2


def test_exit_codes_and_report(cards_clip, tmp_path):
    report = tmp_path / "report.json"
    out = tmp_path / "out"
    args = ["run", str(cards_clip), "--model", "tiny.en", "-o", str(out), "--report", str(report), "--quiet"]
    result = runner.invoke(app, [*args, str(tmp_path / "missing.mp4")])
    assert result.exit_code == 1
    data = json.loads(report.read_text())
    assert data["model"] == "tiny.en" and data["engine"] == "faster-whisper" and data["device"] == "cpu"
    assert data["totals"]["ok"] == 1 and data["totals"]["failed"] == 1
    good, bad = data["items"]
    assert good["status"] == "ok" and good["language"] == "en" and good["audio_seconds"] > 1.0
    assert good["realtime_factor"] > 0 and good["outputs"] == [str(out / "cards.en.srt")]
    assert bad["status"] == "failed" and "missing.mp4" in bad["error"]
    rerun = runner.invoke(app, args)
    assert rerun.exit_code == 0
    assert json.loads(report.read_text())["items"][0]["status"] == "skipped"


def test_summary_table_and_quiet(cards_clip, tmp_path):
    loud = runner.invoke(app, ["run", str(cards_clip), "--model", "tiny.en", "-o", str(tmp_path / "a")])
    assert loud.exit_code == 0
    for column in ("item", "status", "audio s", "lang", "wall s", "realtime"):
        assert column in loud.stderr
    assert "cards.mp4" in loud.stderr and loud.stdout == ""
    quiet = runner.invoke(app, ["run", str(cards_clip), "--model", "tiny.en", "-o", str(tmp_path / "b"), "-q"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""


def test_make_subtitles_target_runs_a_folder(cards_clip, tmp_path):
    """The README's batch target for users: make subtitles DIR=... ARGS=..."""
    import shutil

    repo = Path(__file__).resolve().parent.parent
    if not (repo / ".venv" / ".installed").exists():
        pytest.skip("make setup has not been run in this checkout")
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    folder = tmp_path / "my videos"
    folder.mkdir()
    shutil.copy(cards_clip, folder / "clip.mp4")
    proc = subprocess.run(
        ["make", "-s", "-C", str(repo), "subtitles", f"DIR={folder}", "ARGS=--model tiny.en --format srt,vtt --quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (folder / "clip.en.srt").is_file() and (folder / "clip.en.vtt").is_file()


@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_each_engine_subtitles_a_clip_and_is_named_in_the_report(engine, cards_clip, tmp_path):
    report = tmp_path / "report.json"
    args = ["run", str(cards_clip), "--model", "tiny.en", "-o", str(tmp_path), "--report", str(report), "-q"]
    result = runner.invoke(app, [*args, "--engine", engine, "--batch-size", "2", "--beam-size", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["engine"] == engine and data["items"][0]["status"] == "ok"
    assert "clubs" in (tmp_path / "cards.en.srt").read_text(encoding="utf-8").lower()


def test_auto_engine_is_faster_whisper_unless_the_model_is_a_pt_file(tmp_path):
    from subgen.engines import pick_engine
    from subgen.models import ModelSource, resolve

    assert pick_engine("auto", resolve("tiny.en")) == "faster-whisper"
    pt = ModelSource(name="mine", kind="openai-pt", path=tmp_path / "mine.pt", multilingual=True)
    assert pick_engine("auto", pt) == "openai-whisper"
    assert pick_engine("openai-whisper", resolve("tiny.en")) == "openai-whisper"
