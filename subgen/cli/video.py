"""``subgen burn`` and ``subgen embed``: existing subtitle files into a video, as pixels or as soft tracks."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from subgen.cli.app import EXIT_FAILED, app, err, error_boundary
from subgen.cli.options import (
    STYLE,
    AssStyleOpt,
    CrfOpt,
    FontOpt,
    FontsDirOpt,
    FontSizeOpt,
    InPlaceOpt,
    LanguagesOpt,
    MarginOpt,
    OutlineOpt,
    OutputDirOpt,
    OverwriteOpt,
    Position,
    PositionOpt,
    video_options,
)
from subgen.core.errors import UsageError

if TYPE_CHECKING:
    from subgen.video.tracks import Track

BurnVideoArg = Annotated[Path, typer.Argument(help="The video to burn subtitles into.")]
BurnSubtitlesArg = Annotated[Path, typer.Argument(help="srt, vtt, ass or subgen json (ASS keeps its own styles).")]
EmbedVideoArg = Annotated[Path, typer.Argument(help="The video to add subtitle tracks to (mp4, mov, mkv or webm).")]
EmbedSubtitlesArg = Annotated[
    list[Path], typer.Argument(help="Subtitle files, one track each; <stem>.<lang>.<ext> names set the language.")
]


@app.command("burn")
def burn_command(
    video: BurnVideoArg,
    subtitles: BurnSubtitlesArg,
    output_dir: OutputDirOpt = None,
    overwrite: OverwriteOpt = False,
    font: FontOpt = STYLE.font,
    font_size: FontSizeOpt = STYLE.font_size,
    outline: OutlineOpt = STYLE.outline,
    position: PositionOpt = Position(STYLE.position),
    margin: MarginOpt = STYLE.margin,
    ass_style: AssStyleOpt = None,
    fonts_dir: FontsDirOpt = None,
    crf: CrfOpt = 18,
) -> None:
    """Render SUBTITLES into VIDEO's picture as <stem>.burned.<ext> (video re-encoded, audio copied)."""
    params = dict(locals())  # the style flags are named like the SubtitleStyle fields they fill
    from subgen.video import mux

    with error_boundary():
        options = video_options(params, burn=True)
        target = _burn_target(video, subtitles, output_dir)
    _finish(partial(mux.burn, video, subtitles, target, options), target, overwrite)


def _burn_target(video: Path, subtitles: Path, output_dir: Path | None) -> Path:
    """Where ``burn`` writes, once its inputs exist and this ffmpeg can burn into that container."""
    from subgen.video import mux

    _check_files(video, subtitles)
    target = mux.burned_path(_base(video, output_dir), video)
    mux.check_burn_support(target.suffix.lower())
    return target


@app.command("embed")
def embed_command(
    video: EmbedVideoArg,
    subtitles: EmbedSubtitlesArg,
    languages: LanguagesOpt = None,
    output_dir: OutputDirOpt = None,
    in_place: InPlaceOpt = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Mux SUBTITLES into VIDEO as soft tracks, nothing re-encoded: <stem>.subtitled.<ext>, or --in-place."""
    from subgen.video import mux

    with error_boundary():
        _check_files(video, *subtitles)
        tracks = _embed_tracks(subtitles, languages)
    target = video if in_place else _subtitled_target(video, output_dir, video.suffix)
    _finish(partial(mux.embed, video, tracks, target, replace_languages=in_place), target, overwrite or in_place)


def _base(video: Path, output_dir: Path | None) -> Path:
    """The output path without extension: beside ``video``, or in ``output_dir``."""
    return (output_dir / video.stem) if output_dir is not None else video.with_suffix("")


def _subtitled_target(video: Path, output_dir: Path | None, suffix: str) -> Path:
    from subgen.video.mux import subtitled_path

    return subtitled_path(_base(video, output_dir), suffix)


def _finish(action: Callable[[], Path], target: Path, overwrite: bool) -> None:
    """Run a burn/embed command's action: the written path on stdout, errors as one line with exit 1."""
    if target.exists() and not overwrite:
        err.print(f"{target} exists; use --overwrite to redo it", markup=False, highlight=False)
        typer.echo(str(target))
        return
    with error_boundary(EXIT_FAILED):
        written = action()
    typer.echo(str(written))


def _check_files(*paths: Path) -> None:
    for path in paths:
        if not path.is_file():
            raise UsageError(f"{path}: no such file; check the path")


def _embed_tracks(subtitles: list[Path], languages: str | None) -> list[Track]:
    from subgen.core.languages import LANGUAGE_CODES
    from subgen.core.paths import split_language_suffix
    from subgen.video.tracks import Track

    if languages:
        codes: list[str | None] = [c.strip() for c in languages.split(",")]
    else:
        codes = [split_language_suffix(p.name)[1] for p in subtitles]
    if len(codes) != len(subtitles):
        raise UsageError(f"--languages lists {len(codes)} codes for {len(subtitles)} subtitle files")
    unknown = [c for c in codes if c is not None and c not in LANGUAGE_CODES]
    if unknown:
        raise UsageError(f"--languages: {', '.join(unknown)} is not a Whisper language code (e.g. en, de)")
    return [Track(path, code) for path, code in zip(subtitles, codes, strict=True)]
