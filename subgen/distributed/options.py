"""How a batch runs on Ray: the cluster to use and the decoder actors' shape, checked before any work starts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from subgen.core.errors import UsageError
from subgen.core.options import RunOptions

ITEMS_PER_CALL = 4
"""Items handed to a decoder actor at once: their windows share decoder batches, as consecutive items do locally.

Short clips need company to fill a batch; an hour of speech fills batches on its own, and more items per call would
only hold more audio in the actor's memory."""
TASK_RETRIES = 3
"""Times a CPU task (prepare, finish) runs again after its worker died; then its items are reported failed."""
ACTOR_TASK_RETRIES = 3
"""Times a decode call runs again on a restarted actor after its actor died (actors themselves restart always)."""


@dataclass(frozen=True)
class RayOptions:
    """``--ray`` and its companions; ``None`` fields are chosen from the cluster's resources (see ``layout``)."""

    address: str | None = None
    actors: int | None = None
    gpus_per_actor: float | None = None
    cpus_per_actor: float | None = None
    items_per_call: int = ITEMS_PER_CALL
    log_level: int = logging.WARNING

    def __post_init__(self) -> None:
        if self.actors is not None and self.actors < 1:
            raise UsageError(f"--ray-actors must be at least 1, not {self.actors}")
        if self.gpus_per_actor is not None and self.gpus_per_actor < 0:
            raise UsageError(f"--ray-gpus must not be negative, not {self.gpus_per_actor:g}")
        if self.cpus_per_actor is not None and self.cpus_per_actor <= 0:
            raise UsageError(f"--ray-cpus must be positive, not {self.cpus_per_actor:g}")
        if self.items_per_call < 1:
            raise UsageError(f"items per decode call must be at least 1, not {self.items_per_call}")


@dataclass(frozen=True)
class Layout:
    """The decoder actors as they will be started: how many, and what each reserves."""

    actors: int
    gpus: float
    cpus: float
    task_cpus: float = 1.0
    """What each CPU task (prepare, finish) reserves: one core, or what the actors leave on a small machine."""


def layout(options: RayOptions, device: str, resources: dict[str, Any], nodes: int) -> Layout:
    """The actor pool for ``options`` on a cluster with ``resources`` (``ray.cluster_resources()``) and ``nodes``
    alive nodes: one GPU actor per GPU when the cluster has GPUs (and ``--device`` is not cpu), else one CPU actor
    per node; CPU actors reserve at most one core each and leave one (or half the cluster) for the CPU tasks."""
    cpus, gpus = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
    if device == "cuda" and gpus == 0:
        raise UsageError("--device cuda: the Ray cluster has no GPU; use --device cpu or add GPU nodes")
    per_gpu = options.gpus_per_actor
    if per_gpu is None:
        per_gpu = 1.0 if device != "cpu" and gpus >= 1 else 0.0
    if device == "cuda" and per_gpu == 0:
        raise UsageError("--device cuda needs GPUs on the decoder actors; drop --ray-gpus 0 or use --device cpu")
    if per_gpu > gpus:
        raise UsageError(f"--ray-gpus {per_gpu:g}: the Ray cluster has {gpus:g} GPU(s)")
    actors = options.actors or (max(1, int(gpus // per_gpu)) if per_gpu else max(1, nodes))
    per_cpu = options.cpus_per_actor or (1.0 if per_gpu else min(1.0, max(cpus - 1, cpus / 2) / actors))
    left = cpus - actors * per_cpu
    if left <= 0:
        raise UsageError(
            f"{actors} decoder actor(s) × {per_cpu:g} CPU leave no CPU for the download, audio and write tasks "
            f"(the Ray cluster has {cpus:g}); lower --ray-actors or --ray-cpus"
        )
    return Layout(actors, per_gpu, per_cpu, min(1.0, left))


def checked_on_driver(options: RunOptions) -> RunOptions:
    """The options the driver checks before the run: the GPU is the workers' business, not the driver's."""
    if options.transcribe.device != "cuda":
        return options
    return replace(options, transcribe=replace(options.transcribe, device="auto"))
