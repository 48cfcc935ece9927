"""Scratch folders for extracted audio: one per run, named after the process, and removed by the next run
when the process that made it is gone (a SIGKILL or a power cut leaves no cleanup of its own)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "subgen-audio-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _owner(folder: Path) -> int | None:
    """The process id in a scratch folder's name (``subgen-audio-<pid>-<random>``), if it has one."""
    rest = folder.name.removeprefix(PREFIX)
    pid, sep, _ = rest.partition("-")
    return int(pid) if sep and pid.isdigit() else None


def remove_dead_scratch(root: Path | None = None) -> list[Path]:
    """Delete the scratch folders of subgen runs that no longer exist; returns what was removed."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for folder in root.glob(f"{PREFIX}*"):
        pid = _owner(folder)
        if pid is None or pid == os.getpid() or _alive(pid) or not folder.is_dir():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        log.info("removed %s, left by a run that ended without cleaning up", folder)
        removed.append(folder)
    return removed


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A new scratch folder for this run (removed on exit); dead runs' folders are removed first."""
    remove_dead_scratch()
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-") as folder:
        yield Path(folder)
