"""The Ray driver's progress: items finished on the cluster and the audio seconds they held, as tqdm bars on stderr.

On Ray an item's events reach the driver together, when its status row arrives; so the bars count whole items and
their audio, not the seconds decoded inside one item (as the local run's bars do).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from subgen.core.events import Event, ItemFinished, ItemStarted

if TYPE_CHECKING:
    from tqdm import tqdm


class RayProgress:
    """An ``on_event`` for ``run_on_ray`` that draws two bars: files (of the batch) and audio seconds done."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.items: tqdm | None = None
        self.audio: tqdm | None = None

    def __call__(self, event: Event) -> None:
        if not self.enabled:
            return
        if isinstance(event, ItemStarted):
            self._open(event.total).set_postfix_str(Path(event.source).name[:40], refresh=False)
        elif isinstance(event, ItemFinished) and self.items is not None and self.audio is not None:
            self.items.update(1)
            self.audio.update(round(event.result.audio_seconds or 0.0, 1))

    def _open(self, total: int) -> tqdm:
        from tqdm import tqdm

        if self.items is None:
            self.items = tqdm(total=total, unit="file", desc="files", position=0, file=sys.stderr)
            self.audio = tqdm(unit="s", desc="audio", position=1, leave=False, file=sys.stderr)
        return self.items

    def close(self) -> None:
        """Remove the bars before the summary is printed."""
        for bar in (self.audio, self.items):
            if bar is not None:
                bar.close()
