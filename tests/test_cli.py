"""The CLI surface: help, usage errors before any model loads, exit codes, the JSON report."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from subgen.cli import app
from subgen.core.errors import UsageError
from subgen.core.version import __version__
from subgen.subtitles.writers import WRITERS

runner = CliRunner()
GROUP = typer.main.get_command(app)
COMMANDS = sorted(GROUP.commands)
WIDE = {"COLUMNS": "200"}  # rich wraps and truncates help at the terminal width (80 when not a terminal)


def _flat(text: str) -> str:
    """Help or error output with rich's box lines and line wraps removed, as one line."""
    return " ".join(text.replace("│", " ").split())


def _summary(command: str) -> str:
    """The first line of a command's docstring, as ``--help`` shows it."""
    return (GROUP.commands[command].help or "").strip().splitlines()[0]


def _options(command: str) -> list:
    """The command's options (Typer vendors its own click, so no ``isinstance`` against click's classes)."""
    options = [p for p in GROUP.commands[command].params if p.param_type_name == "option"]
    assert options or command in ("formats", "models", "version")
    return options


def _help(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return _flat(result.output)


def test_python_dash_m_help_runs_in_a_subprocess():
    env = {**os.environ, **WIDE}
    proc = subprocess.run(
        [sys.executable, "-m", "subgen", "--help"], capture_output=True, text=True, check=False, env=env
    )
    assert proc.returncode == 0, proc.stderr
    text = _flat(proc.stdout)
    for command in COMMANDS:
        assert f"{command} {_summary(command)}" in text


def test_help_lists_every_command_with_its_summary():
    text = _help()
    assert sorted(["run", "burn", "embed", "eval", "check", "models", "formats", "version", "serve"]) == COMMANDS
    for command in COMMANDS:
        assert f"{command} {_summary(command)}" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_its_summary_and_options(command):
    text = _help(command)
    assert _summary(command) and _summary(command) in text
    for option in _options(command):
        for name in (*option.opts, *option.secondary_opts):
            assert name in text, f"{command} --help lacks {name}"
        assert option.help and "[" not in option.help, f"{option.name}: rich markup would eat [...] in help"
        assert _flat(option.help) in text, f"{command} --help lacks the help of {option.name}"


def test_version_flag_and_command_print_the_version():
    flag = runner.invoke(app, ["--version"])
    assert flag.exit_code == 0 and flag.stdout.strip() == __version__
    command = runner.invoke(app, ["version"])
    assert command.exit_code == 0 and command.stdout.strip() == __version__


def test_verbose_and_quiet_are_app_flags_before_the_command():
    for flag, level in (("-v", logging.DEBUG), ("--verbose", logging.DEBUG), ("-q", logging.ERROR)):
        assert runner.invoke(app, [flag, "version"]).exit_code == 0
        assert logging.getLogger("subgen").level == level
    for command in COMMANDS:  # declared once, on the app, not per command
        assert not {"-q", "--quiet", "-v", "--verbose", "--version"} & {n for o in _options(command) for n in o.opts}


@pytest.mark.parametrize(
    ("option", "choices"),
    [
        ("--task", ("transcribe", "translate")),
        ("--device", ("auto", "cpu", "cuda")),
        ("--engine", ("auto", "faster-whisper", "openai-whisper")),
        ("--preset", ("netflix", "bbc")),
        ("--position", ("bottom", "top")),
    ],
)
def test_run_help_lists_the_choices_of_each_enum_option(option, choices):
    assert f"{option} <{'|'.join(choices)}>" in _help("run") or f"{option} [{'|'.join(choices)}]" in _help("run")


def test_the_cli_choices_are_the_core_options_values():
    from subgen.cli import options as cli
    from subgen.core import options as core

    assert [c.value for c in cli.Task] == list(core.TASKS)
    assert [c.value for c in cli.Device] == list(core.DEVICES)
    assert [c.value for c in cli.Engine] == list(core.ENGINES)
    assert [c.value for c in cli.Preset] == list(core.PRESETS)
    assert [c.value for c in cli.Position] == list(core.POSITIONS)


def test_help_does_not_import_torch():
    code = "import sys; from subgen.cli import app; assert 'torch' not in sys.modules; print('light')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "light", proc.stderr


def test_every_format_in_the_cli_is_in_the_writer_registry():
    listed = [line.split("\t")[0] for line in runner.invoke(app, ["formats"]).output.splitlines()]
    assert listed == list(WRITERS)
    assert f"Comma list of {', '.join(WRITERS)}." in _help("run")


def test_models_command_lists_bundled_models():
    output = runner.invoke(app, ["models"]).output
    assert "tiny.en\tbundled" in output and "base\tbundled" in output and "large-v3" in output


def test_a_subgen_error_in_a_command_is_one_error_line_with_exit_2(monkeypatch, tmp_path):
    def boom(options):
        raise UsageError("boom")

    monkeypatch.setattr("subgen.api.check_run", boom)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    result = runner.invoke(app, ["run", str(clip)])
    assert result.exit_code == 2
    assert result.stderr == "error: boom\n" and result.stdout == ""
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_run_flags_reach_the_run_options(monkeypatch, tmp_path):
    from subgen.core.options import (
        OutputOptions,
        RunOptions,
        SubtitleStyle,
        TranscribeOptions,
        VideoOptions,
        preset_options,
    )

    seen = []

    def capture(options):
        seen.append(options)
        raise UsageError("captured")

    monkeypatch.setattr("subgen.api.check_run", capture)
    out, downloads, fonts = tmp_path / "out", tmp_path / "dl", tmp_path / "fonts"
    fonts.mkdir()
    args = [
        *("--model", "tiny", "--language", "de", "--task", "translate", "--initial-prompt", "Hi."),
        *("--device", "cpu", "--engine", "openai-whisper", "--batch-size", "3", "--window", "12", "--beam-size", "2"),
        *("--audio-track", "1"),
        *("-f", "vtt,srt", "-o", str(out), "--download-dir", str(downloads), "--overwrite", "--report", "r.json"),
        *("--no-vad", "--condition-on-previous-text", "--preset", "bbc", "--max-chars", "30", "--max-lines", "1"),
        *("--max-cps", "15", "--min-duration", "1.5", "--max-duration", "6", "--min-gap", "0.2"),
        *("--embed", "--in-place", "--keep-video", "--tracks", "original,en", "--font", "DejaVu Sans"),
        *("--font-size", "24", "--outline", "1", "--position", "top", "--margin", "8", "--ass-style", "Bold=1"),
        *("--fonts-dir", str(fonts), "--crf", "20"),
    ]
    unused = {o.name for o in _options("run") if not {*o.opts, *o.secondary_opts} & set(args)}
    ray = {"ray", "ray_address", "ray_actors", "ray_gpus", "ray_cpus"}  # not RunOptions: tests/test_ray.py checks them
    assert unused == {"burn", *ray}  # (burn is checked below) a new option belongs in args
    result = runner.invoke(app, ["run", "clip.mp4", *args])
    assert result.exit_code == 2 and result.stderr == "error: captured\n"
    transcribe = TranscribeOptions(
        "tiny", "de", "translate", "Hi.", "cpu", False, True, 2, "openai-whisper", 3, 12.0, audio_track=1
    )
    limits = {"max_chars": 30, "max_lines": 1, "max_cps": 15.0, "min_duration": 1.5, "max_duration": 6.0}
    style = SubtitleStyle("DejaVu Sans", 24.0, 1.0, "top", 8, "Bold=1")
    assert seen == [
        RunOptions(
            transcribe=transcribe,
            cues=preset_options("bbc", **limits, min_gap=0.2),
            output=OutputOptions(("vtt", "srt"), out, True),
            download_dir=downloads,
            video=VideoOptions(embed=True, in_place=True, keep_video=True, style=style, fonts_dir=fonts, crf=20),
            tracks=("original", "en"),
        )
    ]
    options = seen[0]
    chosen = (
        options.transcribe.task,
        options.transcribe.device,
        options.transcribe.engine,
        options.video.style.position,
    )
    assert all(type(value) is str for value in (*chosen, options.cues.preset))  # enum values, not enum members
    runner.invoke(app, ["run", "clip.mp4", "--burn"])
    assert seen[-1].video.burn and not seen[-1].video.embed


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
        (["--engine", "whisperx"], "'whisperx' is not one of"),
        (["--preset", "hbo"], "'hbo' is not one of"),
        (["--position", "middle"], "'middle' is not one of"),
        (["--batch-size", "0"], "--batch-size must be between 1 and 256, not 0"),
        (["--beam-size", "0"], "--beam-size must be between 1 and 20, not 0"),
        (["--window", "3"], "--window must be between 5 and 29 seconds"),
        (["--window", "30"], "--window must be between 5 and 29 seconds"),
        (["--tracks", "original,fr"], "--tracks takes a comma list"),
        (["--model", "tiny.en", "--tracks", "original,en"], "cannot translate"),
        (["--burn", "--embed"], "choose one"),
    ],
)
def test_usage_errors_exit_2_before_any_model_loads(args, message, cards_clip, monkeypatch):
    def no_load(*a, **k):
        raise AssertionError("a model was loaded despite a usage error")

    monkeypatch.setattr("subgen.asr.engines.load_engine", no_load)
    result = runner.invoke(app, ["run", str(cards_clip), *args])
    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)
    assert "Traceback" not in result.output
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
    args = ["--quiet", "run", str(cards_clip), "--model", "tiny.en", "-o", str(out), "--report", str(report)]
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
    quiet = runner.invoke(app, ["-q", "run", str(cards_clip), "--model", "tiny.en", "-o", str(tmp_path / "b")])
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""


def test_make_subtitles_target_runs_a_folder(cards_clip, tmp_path):
    """The README's batch target for users: make subtitles DIR=... ARGS=... (ARGS go after ``run DIR``)."""
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
        ["make", "-s", "-C", str(repo), "subtitles", f"DIR={folder}", "ARGS=--model tiny.en --format srt,vtt"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (folder / "clip.en.srt").is_file() and (folder / "clip.en.vtt").is_file()


@pytest.mark.parametrize("engine", ["faster-whisper", "openai-whisper"])
def test_each_engine_subtitles_a_clip_and_is_named_in_the_report(engine, cards_clip, tmp_path):
    report = tmp_path / "report.json"
    args = ["-q", "run", str(cards_clip), "--model", "tiny.en", "-o", str(tmp_path), "--report", str(report)]
    result = runner.invoke(app, [*args, "--engine", engine, "--batch-size", "2", "--beam-size", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["engine"] == engine and data["items"][0]["status"] == "ok"
    assert "clubs" in (tmp_path / "cards.en.srt").read_text(encoding="utf-8").lower()


def test_auto_engine_is_faster_whisper_unless_the_model_is_a_pt_file(tmp_path):
    from subgen.asr.engines import pick_engine
    from subgen.asr.models import ModelSource, resolve

    assert pick_engine("auto", resolve("tiny.en")) == "faster-whisper"
    pt = ModelSource(name="mine", kind="openai-pt", path=tmp_path / "mine.pt", multilingual=True)
    assert pick_engine("auto", pt) == "openai-whisper"
    assert pick_engine("openai-whisper", resolve("tiny.en")) == "openai-whisper"
