"""The Typer app: the flags every command shares, logging, the error boundary and the exit codes."""

from __future__ import annotations

import functools
import logging
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer._click.exceptions import ClickException, UsageError  # Typer's own copy of Click
from typer.core import TyperGroup

from subgen.cli.options import QuietOpt, VerboseOpt
from subgen.core.errors import SubgenError
from subgen.core.version import __version__


class _OneLineErrors(TyperGroup):
    """The command group, with Click's usage errors (an unknown option, a value not among the choices) shown as
    one ``error:`` line naming the fix, like every other error, instead of a framed block."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        run = functools.partial(super().main, args, prog_name, complete_var, False, windows_expand_args, **extra)
        if not standalone_mode:
            return run()
        try:
            result = run()
        except ClickException as exc:
            hint = f"; see '{exc.ctx.command_path} --help'" if isinstance(exc, UsageError) and exc.ctx else ""
            print_error(exc.format_message() + hint)
            sys.exit(exc.exit_code)
        except typer.Abort:
            print_error("aborted")
            sys.exit(EXIT_FAILED)
        sys.exit(result if isinstance(result, int) else EXIT_OK)


app = typer.Typer(
    cls=_OneLineErrors,
    help="Batch subtitles for videos, folders, globs, URLs and playlists, with Whisper.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True)
class Settings:
    """The app-wide flags, handed to the commands as ``ctx.obj``."""

    quiet: bool = False
    verbose: bool = False


def settings(ctx: typer.Context) -> Settings:
    """The app-wide flags of this invocation (defaults when a command runs without the app callback)."""
    return ctx.find_object(Settings) or Settings()


def _print_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit(EXIT_OK)


VersionOpt = Annotated[
    bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
]


@app.callback()
def main_callback(
    ctx: typer.Context, quiet: QuietOpt = False, verbose: VerboseOpt = False, version: VersionOpt = False
) -> None:
    """Batch subtitles for videos, folders, globs, URLs and playlists, with Whisper."""
    setup_logging(quiet, verbose)
    ctx.obj = Settings(quiet=quiet, verbose=verbose)


class _TqdmHandler(logging.Handler):
    """Log lines that do not tear through progress bars."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


def setup_logging(quiet: bool, verbose: bool) -> None:
    """Route subgen's log to stderr around the progress bars: debug with -v, errors only with -q."""
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("subgen")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    root.propagate = False


def print_error(message: str) -> None:
    """One red ``error: <message>`` line on stderr."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


@contextmanager
def error_boundary(exit_code: int = EXIT_USAGE) -> Iterator[None]:
    """Turn a ``SubgenError`` raised inside into one ``error:`` line and ``exit_code`` (2: a usage problem found
    before any work started; burn and embed pass 1 for a failure of the work itself). No traceback."""
    try:
        yield
    except SubgenError as exc:
        print_error(str(exc))
        raise typer.Exit(exit_code) from None


class _Interrupt:
    """The first Ctrl-C or SIGTERM (docker stop, systemd) stops the run like Ctrl-C; any further one during the
    cleanup that follows is swallowed, so finished work and the report are always written and no traceback shows.
    (The handler stays installed: switching to SIG_IGN while a second signal is pending makes Python raise.)"""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, signum: int, frame: object) -> None:
        if self.seen:
            return
        self.seen = True
        raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point."""
    handler = _Interrupt()
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    try:
        app()
    except KeyboardInterrupt:  # outside any command's own handling (e.g. during start-up)
        sys.exit(EXIT_INTERRUPTED)
