"""Ray itself: whether it is installed, connecting to (or starting) a cluster, and Ray Data's settings for a run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from subgen.core.errors import UsageError

log = logging.getLogger(__name__)

INSTALL = "pip install 'subgen-batch[ray]'"
"""What makes ``--ray`` work: the optional extra with Ray Data."""
AUTH_HINT = "a cluster with token authentication also needs RAY_AUTH_MODE=token and its token, see docs/ray.md"
RAY_LOG_LEVEL = logging.ERROR
"""Ray's own logger on the driver: its start-up and per-dataset INFO lines would tear through the progress bars."""


def require_ray() -> ModuleType:
    """The ``ray`` module with Ray Data, or a ``UsageError`` naming the install command."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise UsageError(f"--ray needs Ray, which is not installed ({exc.name or exc}); run: {INSTALL}") from None
    return ray


@contextmanager
def ray_session(address: str | None) -> Iterator[ModuleType]:
    """Ray, connected for the block: an already initialised Ray is used as it is (and left running); otherwise
    ``address`` (or ``RAY_ADDRESS``, or a cluster already running on this machine, else a new local one) is
    connected to and disconnected afterwards."""
    ray = require_ray()
    if ray.is_initialized():
        if address:
            log.info("Ray is already initialised in this process; --ray-address %s is not used", address)
        yield ray
        return
    try:
        ray.init(address=address, include_dashboard=False, logging_level=RAY_LOG_LEVEL)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = address or "RAY_ADDRESS or a new local Ray"
        raise UsageError(f"--ray: cannot connect to {where}: {_first_line(exc)} ({AUTH_HINT})") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def cluster_shape(ray: ModuleType) -> tuple[dict[str, Any], int]:
    """The cluster's total resources (CPU, GPU, ...) and how many of its nodes are alive."""
    return dict(ray.cluster_resources()), sum(1 for node in ray.nodes() if node.get("Alive"))


@contextmanager
def data_context() -> Iterator[None]:
    """Ray Data set up for one run, restored afterwards: no Ray progress bars (the driver draws its own), blocks
    whose tasks kept failing are dropped rather than failing the dataset (their items are reported failed), and
    Ray Data's INFO lines kept off the console."""
    from ray.data import DataContext

    context = DataContext.get_current()
    saved = context.enable_progress_bars, context.max_errored_blocks
    data_log = logging.getLogger("ray.data")
    level = data_log.level
    context.enable_progress_bars, context.max_errored_blocks = False, -1
    data_log.setLevel(max(level, RAY_LOG_LEVEL))
    try:
        yield
    finally:
        context.enable_progress_bars, context.max_errored_blocks = saved
        data_log.setLevel(level)
