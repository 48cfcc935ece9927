"""What Ray costs on one machine: the same inputs in-process and through a local Ray with 1 and 2 decoder actors.

Usage: python benchmarks/ray_scale.py [--model tiny.en] [--work DIR] [--quick] [--corpus DIR] [--cpus N]

Inputs are those of benchmarks/speed.py (two long-form videos and a folder of the 25 English corpus utterances as
short videos; ``--quick``: three clips). Every run writes into a fresh folder, so nothing is skipped, and loads
its model itself (the in-process run its one engine, each Ray actor its own). Measured:

- prepare alone (extract audio, VAD) in this process on one core: what the CPU tasks cost per audio hour;
- the in-process batch (``subgen run``'s path) and ``run_on_ray`` with 1 and 2 actors: wall time, realtime
  factor, and the overhead ratio against in-process; Ray's start-up is timed apart (a cluster is started once).

Prints a Markdown table, the per-audio-hour costs that docs/ray.md scales to 10,000 hours, and the machine.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.speed import Inputs, build_inputs, cpu_model
from subgen.core.options import OutputOptions, RunOptions, TranscribeOptions
from subgen.core.results import ItemResult, ItemStatus
from subgen.sources.inputs import MediaItem, expand_inputs

HOUR = 3600.0


@dataclass(frozen=True)
class Run:
    """One configuration's run over the inputs."""

    name: str
    wall: float
    results: tuple[ItemResult, ...]
    load_seconds: float

    @property
    def audio(self) -> float:
        """Audio seconds subtitled."""
        return sum(r.audio_seconds or 0.0 for r in self.results if r.status == ItemStatus.OK)

    @property
    def failed(self) -> int:
        """Items that failed (a benchmark run should have none)."""
        return sum(r.status == ItemStatus.FAILED for r in self.results)


def run_options(model: str, out: Path) -> RunOptions:
    return RunOptions(transcribe=TranscribeOptions(model=model), output=OutputOptions(output_dir=out))


def in_process(items: list[MediaItem], model: str, out: Path) -> Run:
    """``subgen run``'s own path: one process, a prefetch thread, one engine."""
    import subgen.api as api

    api.ENGINES.clear()  # load the model inside the timed run, as a fresh `subgen run` does
    batch = api.batch(run_options(model, out))
    started = time.monotonic()
    results = batch.run(items)
    return Run("in-process", time.monotonic() - started, tuple(results), batch.load_seconds)


def on_ray(items: list[MediaItem], model: str, out: Path, actors: int) -> Run:
    """``run_on_ray`` on the Ray this process started: actors start and load their models inside the run."""
    from subgen.distributed import RayOptions, run_on_ray

    started = time.monotonic()
    run = run_on_ray(items, run_options(model, out), RayOptions(actors=actors))
    wall = time.monotonic() - started
    return Run(f"Ray, {actors} actor{'s' if actors > 1 else ''}", wall, run.results, run.load_seconds)


def prepare_seconds(items: list[MediaItem], model: str, scratch: Path) -> tuple[float, float]:
    """(seconds, audio seconds) of the prepare stage alone over ``items``, one at a time in this process."""
    from subgen.pipeline.batch import plan_items
    from subgen.pipeline.prepare import PrepareContext, Ready, prepare

    options = run_options(model, scratch / "out")
    plan = plan_items(items, options)
    context = PrepareContext(options, plan.mirror, plan.downloader)
    started, audio = time.monotonic(), 0.0
    for index, item in enumerate(plan.items):
        prepared = prepare(index, item, context, scratch / str(index))
        audio += prepared.audio.clip.duration if isinstance(prepared, Ready) else 0.0
        shutil.rmtree(scratch / str(index), ignore_errors=True)
    return time.monotonic() - started, audio


def start_ray(cpus: int, temp: Path) -> float:
    """Start a local Ray on ``cpus`` CPUs; the seconds it took."""
    import ray

    started = time.monotonic()
    ray.init(num_cpus=cpus, include_dashboard=False, _temp_dir=str(temp), logging_level=logging.ERROR)
    return time.monotonic() - started


def stop_ray(temp: Path) -> None:
    import ray

    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


def table(runs: Sequence[Run], ray_start: float) -> str:
    base = runs[0]
    lines = [
        "| run | wall | × realtime | model load | overhead vs in-process | with Ray's start-up |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        ratio = run.wall / base.wall
        started = "-" if run is base else f"{(run.wall + ray_start) / base.wall:.2f}×"
        lines.append(
            f"| {run.name} | {run.wall:.1f} s | {run.audio / run.wall:.1f}× | {run.load_seconds:.1f} s | "
            f"{ratio:.2f}× | {started} |"
        )
    return "\n".join(lines)


def per_hour(runs: Sequence[Run], prepare: tuple[float, float], cpus: int) -> list[str]:
    """The costs docs/ray.md scales: seconds (and core-seconds) per hour of audio."""
    seconds, audio = prepare
    lines = [f"- prepare (extract + VAD), one core: {seconds / audio * HOUR:.0f} s per audio hour"]
    for run in runs:
        wall = run.wall / run.audio * HOUR
        lines.append(f"- {run.name}: {wall:.0f} s wall per audio hour on {cpus} cores ({wall * cpus:.0f} core-s)")
    return lines


def machine() -> str:
    import ray

    return f"{cpu_model()}, {os.cpu_count()} CPUs; Python {platform.python_version()}, Ray {ray.__version__}"


def measure(inputs: Inputs, model: str, work: Path, cpus: int, say: Callable[[str], None]) -> None:
    items = expand_inputs(inputs.files_and_folder())
    say(f"{len(items)} files, {inputs.seconds:.0f} s of audio, model {model}")
    prepare = prepare_seconds(items, model, work / "prepare")
    runs = [in_process(items, model, work / "local")]
    temp = Path(tempfile.mkdtemp(prefix="subgen-ray-bench-"))  # short: Ray's socket paths must fit 107 bytes
    try:
        ray_start = start_ray(cpus, temp)
        runs += [on_ray(items, model, work / f"ray{n}", n) for n in (1, 2)]
    finally:
        stop_ray(temp)
    bad = [f"{r.name}: {r.failed} failed" for r in runs if r.failed]
    if bad:
        raise SystemExit("; ".join(bad))
    say(table(runs, ray_start))
    say(f"\nRay start-up (local, {cpus} CPUs): {ray_start:.1f} s\n")
    say("\n".join(per_hour(runs, prepare, cpus)))
    say(f"\n{machine()}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--work", type=Path, help="keep inputs and outputs here (default: a temp folder)")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--quick", action="store_true", help="three short clips only (a smoke test)")
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs of the local Ray")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    work = args.work or Path(tempfile.mkdtemp(prefix="subgen-ray-scale-"))
    for stale in ("local", "ray1", "ray2", "prepare"):
        shutil.rmtree(work / stale, ignore_errors=True)
    inputs = build_inputs(args.corpus, work / "inputs", args.quick)
    measure(inputs, args.model, work, args.cpus, print)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
