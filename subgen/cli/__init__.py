"""The ``subgen`` command line: one module per command group, all on the Typer ``app`` of ``subgen.cli.app``.

Importing this package registers every command (in the order ``--help`` lists them) and stays light: the
engines, torch and ffmpeg load only inside the commands that need them.
"""

from subgen.cli import run, video, measure, info, serve  # noqa: F401, I001  (registers the commands, in this order)
from subgen.cli.app import app, main

__all__ = ["app", "main"]
