"""What ``subgen run`` shows on stderr: tqdm bars while it works, a rich summary table when it is done."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from subgen.cli.app import err
from subgen.core.events import AudioProgress, DownloadProgress, Event, ItemFinished, ItemStarted
from subgen.core.paths import display
from subgen.core.results import ItemStatus

if TYPE_CHECKING:
    from tqdm import tqdm

    from subgen.pipeline.report import RunReport

_STATUS_STYLE = {ItemStatus.OK: "green", ItemStatus.SKIPPED: "yellow", ItemStatus.FAILED: "red"}


class ProgressBars:
    """Two tqdm bars on stderr: items in the batch, audio seconds (or downloaded bytes) of the current item."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.items: tqdm | None = None
        self.audio: tqdm | None = None
        self.download: tqdm | None = None

    def __call__(self, event: Event) -> None:
        if not self.enabled:
            return
        if isinstance(event, ItemStarted):
            self._started(event)
        elif isinstance(event, AudioProgress):
            self._audio(event)
        elif isinstance(event, DownloadProgress):
            self._download(event)
        elif isinstance(event, ItemFinished):
            self._close_audio()
            if self.items is not None:
                self.items.update(1)

    def _started(self, event: ItemStarted) -> None:
        from tqdm import tqdm

        if self.items is None:
            self.items = tqdm(total=event.total, unit="file", desc="files", position=0, file=sys.stderr)
        self.items.set_postfix_str(display(Path(event.source).name)[:40])

    def _audio(self, event: AudioProgress) -> None:
        from tqdm import tqdm

        self._close_download()
        if self.audio is None:
            self.audio = tqdm(
                total=round(event.total, 1), unit="s", desc="audio", position=1, leave=False, file=sys.stderr
            )
        self.audio.n = round(event.done, 1)
        self.audio.refresh()

    def _download(self, event: DownloadProgress) -> None:
        from tqdm import tqdm

        if self.download is None:
            self.download = tqdm(unit="B", unit_scale=True, desc="download", position=1, leave=False, file=sys.stderr)
        self.download.total = event.total
        self.download.n = event.done
        self.download.refresh()

    def _close_download(self) -> None:
        if self.download is not None:
            self.download.close()
            self.download = None

    def _close_audio(self) -> None:
        self._close_download()
        if self.audio is not None:
            self.audio.close()
            self.audio = None

    def close(self) -> None:
        """Remove the bars before the summary is printed."""
        self._close_audio()
        if self.items is not None:
            self.items.close()


def print_summary(report: RunReport) -> None:
    """The per-item table and the totals line, on stderr."""
    table = Table(title="subgen summary", title_justify="left")
    for column in ("item", "status", "audio s", "lang", "wall s", "× realtime"):
        table.add_column(column, justify="right" if column.endswith("s") or "×" in column else "left")
    for r in report.results:
        table.add_row(
            escape(display(Path(r.source).name if "://" not in r.source else r.source)),
            f"[{_STATUS_STYLE[r.status]}]{r.status}[/]",
            f"{r.audio_seconds:.1f}" if r.audio_seconds else "-",
            r.language or "-",
            f"{r.wall_seconds:.1f}",
            f"{r.realtime_factor:.1f}" if r.realtime_factor else "-",
        )
    err.print(table)
    t = report.to_dict()["totals"]
    err.print(
        f"{t['ok']} ok, {t['skipped']} skipped, {t['failed']} failed; "
        f"{t['audio_seconds']:.1f} s of audio in {t['wall_seconds']:.1f} s",
        highlight=False,
    )
    for r in report.results:
        for warning in r.warnings:
            err.print(f"[yellow]warning:[/] {escape(display(warning))}", highlight=False, soft_wrap=True)
