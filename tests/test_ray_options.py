"""``--ray`` without a cluster (fast tier): the flags, the usage errors, the actor layout, the status rows, and the
CLI branch around a stand-in runner. The runs on a real local Ray are in ``test_ray.py``."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subgen.cli import app
from subgen.core.errors import UsageError
from subgen.core.options import RunOptions, TranscribeOptions
from subgen.core.results import ItemResult, ItemStatus
from subgen.distributed.options import Layout, RayOptions, checked_on_driver, layout

runner = CliRunner()
needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="the ray extra is not installed (pip install 'subgen-batch[ray]')"
)


def test_help_imports_neither_ray_nor_torch():
    code = (
        "import sys; from typer.testing import CliRunner; from subgen.cli import app; "
        "r = CliRunner().invoke(app, ['run', '--help']); assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in ('ray', 'torch') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [["--ray"], ["--ray-address", "10.0.0.5:6379"]])
def test_without_ray_installed_ray_is_a_usage_error_naming_the_install_command(args, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what a missing package looks like to ``import ray``
    monkeypatch.setitem(sys.modules, "ray.data", None)
    result = runner.invoke(app, ["run", "clip.mp4", "--model", "tiny.en", *args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "pip install 'subgen-batch[ray]'" in result.stderr
    assert result.stderr.startswith("error: --ray needs Ray")


@needs_ray
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ray-actors", "0"], "--ray-actors must be at least 1, not 0"),
        (["--ray-gpus", "-1"], "--ray-gpus must not be negative, not -1"),
        (["--ray-cpus", "0"], "--ray-cpus must be positive, not 0"),
    ],
)
def test_bad_ray_flags_are_usage_errors_before_ray_starts(args, message):
    result = runner.invoke(app, ["run", "clip.mp4", "--model", "tiny.en", "--ray", *args])
    assert result.exit_code == 2 and result.stderr == f"error: {message}\n"


CPU_NODE = {"CPU": 16.0}
GPU_NODES = {"CPU": 32.0, "GPU": 4.0}


@pytest.mark.parametrize(
    ("options", "device", "resources", "nodes", "expected"),
    [
        (RayOptions(), "auto", {"CPU": 2.0}, 1, Layout(1, 0.0, 1.0, 1.0)),  # this machine: one actor, one core left
        (RayOptions(actors=2), "auto", {"CPU": 2.0}, 1, Layout(2, 0.0, 0.5, 1.0)),
        (RayOptions(), "cpu", {"CPU": 1.0}, 1, Layout(1, 0.0, 0.5, 0.5)),  # one core: shared by actor and tasks
        (RayOptions(), "auto", {"CPU": 64.0}, 4, Layout(4, 0.0, 1.0, 1.0)),  # CPU cluster: one actor per node
        (RayOptions(), "auto", GPU_NODES, 2, Layout(4, 1.0, 1.0, 1.0)),  # one actor per GPU
        (RayOptions(), "cpu", GPU_NODES, 2, Layout(2, 0.0, 1.0, 1.0)),  # --device cpu leaves the GPUs alone
        (RayOptions(gpus_per_actor=0.5), "cuda", GPU_NODES, 2, Layout(8, 0.5, 1.0, 1.0)),  # two actors per GPU
        (RayOptions(actors=3, cpus_per_actor=4), "auto", CPU_NODE, 1, Layout(3, 0.0, 4.0, 1.0)),
    ],
)
def test_the_actor_layout_follows_the_cluster(options, device, resources, nodes, expected):
    assert layout(options, device, resources, nodes) == expected


@pytest.mark.parametrize(
    ("options", "device", "resources", "message"),
    [
        (RayOptions(), "cuda", CPU_NODE, "--device cuda: the Ray cluster has no GPU"),
        (RayOptions(gpus_per_actor=0), "cuda", GPU_NODES, "--device cuda needs GPUs on the decoder actors"),
        (RayOptions(gpus_per_actor=2), "auto", GPU_NODES | {"GPU": 1.0}, "--ray-gpus 2: the Ray cluster has 1 GPU"),
        (RayOptions(actors=4, cpus_per_actor=4), "auto", CPU_NODE, "leave no CPU for the download, audio and write"),
    ],
)
def test_a_layout_the_cluster_cannot_hold_is_a_usage_error(options, device, resources, message):
    with pytest.raises(UsageError, match=message):
        layout(options, device, resources, 1)


def test_the_driver_leaves_the_gpu_check_to_the_workers():
    cuda = RunOptions(transcribe=TranscribeOptions(device="cuda"))
    assert checked_on_driver(cuda).transcribe.device == "auto"
    cpu = RunOptions(transcribe=TranscribeOptions(device="cpu"))
    assert checked_on_driver(cpu) is cpu


def test_status_rows_carry_every_field_and_any_file_name():
    pytest.importorskip("pyarrow", reason="the ray extra is not installed")
    from subgen.distributed.values import EngineInfo, from_status_row, status_rows

    odd = "caf\udce9 [1]: \u00e9t\u00e9.mp4"  # a Latin-1 byte Python keeps as a surrogate, and UTF-8
    ok = ItemResult(odd, ItemStatus.OK, (Path(f"/out/{odd}.en.srt"),), None, 12.5, "en", 3.25, ("short audio",))
    failed = ItemResult.failed("gone.mp4", "gone.mp4: no such file")
    engine = EngineInfo("faster-whisper", "cpu", 1.5)
    rows = status_rows([(0, ok, engine), (7, failed, None)]).to_pylist()
    assert [from_status_row(row) for row in rows] == [(0, ok, engine), (7, failed, None)]


@needs_ray
def test_the_cli_branch_reports_like_the_local_run(monkeypatch, tmp_path):
    """The flags reach the runner as ``RayOptions``; its results make the same report, summary and exit code."""
    import subgen.distributed as distributed
    from subgen.distributed import RayRun

    calls = []

    def stand_in(items, options, ray_options, on_event):
        calls.append((items, options, ray_options))
        ok = ItemResult(items[0].source, ItemStatus.OK, (tmp_path / "a.en.srt",), None, 4.0, "en", 2.0)
        bad = ItemResult.failed(items[1].source, f"{items[1].source}: broken")
        return RayRun((ok, bad), "faster-whisper", "cpu", 0.5)

    monkeypatch.setattr(distributed, "run_on_ray", stand_in)
    report = tmp_path / "report.json"
    args = ["run", "a.mp4", "b.mp4", "--model", "tiny.en", "--report", str(report)]
    ray_args = ["--ray-address", "10.0.0.5:6379", "--ray-actors", "3", "--ray-gpus", "0.5", "--ray-cpus", "2"]
    result = runner.invoke(app, [*args, *ray_args])
    assert result.exit_code == 1, result.output
    [(items, options, ray_options)] = calls
    assert [i.source for i in items] == ["a.mp4", "b.mp4"] and options.transcribe.model == "tiny.en"
    expected = RayOptions(address="10.0.0.5:6379", actors=3, gpus_per_actor=0.5, cpus_per_actor=2.0)
    assert ray_options == expected
    assert "1 ok, 0 skipped, 1 failed" in result.stderr
    data = json.loads(report.read_text())
    assert (data["engine"], data["device"], data["model_load_seconds"]) == ("faster-whisper", "cpu", 0.5)
    assert [i["status"] for i in data["items"]] == ["ok", "failed"]


@needs_ray
def test_an_interrupted_ray_run_exits_130_and_keeps_its_report(monkeypatch, tmp_path):
    import subgen.distributed as distributed
    from subgen.distributed import RayRun

    def interrupted(items, options, ray_options, on_event):
        return RayRun((ItemResult(items[0].source, ItemStatus.OK, (), None, 1.0, "en", 1.0),), interrupted=True)

    monkeypatch.setattr(distributed, "run_on_ray", interrupted)
    report = tmp_path / "report.json"
    result = runner.invoke(app, ["run", "a.mp4", "b.mp4", "--model", "tiny.en", "--ray", "--report", str(report)])
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert json.loads(report.read_text())["interrupted"] is True
