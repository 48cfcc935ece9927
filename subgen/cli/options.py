"""Every command-line option, declared once as an ``Annotated`` alias the commands share, and the helpers that
turn a command's arguments into the core option objects.

Help texts avoid square brackets: Typer renders help as rich markup, which drops ``[text]``. A command's
parameters are named like the fields of the option dataclasses, so ``pick`` fills those from its arguments.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer

from subgen.core.options import CueOptions, OutputOptions, SubtitleStyle, VideoOptions, preset_options

T = TypeVar("T")

# ---------------------------------------------------------------- choices (their values are those of core.options)


class Task(StrEnum):
    """``--task`` (``core.options.TASKS``)."""

    TRANSCRIBE = "transcribe"
    TRANSLATE = "translate"


class Device(StrEnum):
    """``--device`` (``core.options.DEVICES``)."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


class Engine(StrEnum):
    """``--engine`` (``core.options.ENGINES``)."""

    AUTO = "auto"
    FASTER_WHISPER = "faster-whisper"
    OPENAI_WHISPER = "openai-whisper"


class Preset(StrEnum):
    """``--preset`` (``core.options.PRESETS``)."""

    NETFLIX = "netflix"
    BBC = "bbc"


class Position(StrEnum):
    """``--position`` (``core.options.POSITIONS``)."""

    BOTTOM = "bottom"
    TOP = "top"


# ---------------------------------------------------------------- the app: logging and version

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summary; log errors only.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")]

# ---------------------------------------------------------------- decoding (run)

ModelOpt = Annotated[
    str,
    typer.Option(
        help="Bundled name (base, tiny.en), official name (large-v3, turbo: downloaded), "
        "CTranslate2 folder or .pt file."
    ),
]
LanguageOpt = Annotated[str | None, typer.Option(help="Spoken language code (e.g. en, de); default: detect.")]
TaskOpt = Annotated[Task, typer.Option(help="Transcribe, or translate into English.")]
InitialPromptOpt = Annotated[str | None, typer.Option(help="Text that primes vocabulary and style.")]
DeviceOpt = Annotated[Device, typer.Option(help="Where to decode (fp16 on CUDA).")]
EngineOpt = Annotated[
    Engine, typer.Option(help="auto (faster-whisper), faster-whisper (CTranslate2) or openai-whisper (PyTorch).")
]
BatchSizeOpt = Annotated[
    int | None, typer.Option(help="Speech windows per decoder call (default 4 on CPU, 16 on CUDA).")
]
WindowOpt = Annotated[
    float, typer.Option(help="Most seconds of speech per decode window with VAD (5-29): longer gives more context.")
]
BeamSizeOpt = Annotated[int, typer.Option(help="Beam search width (1: greedy, fastest; at most 20).")]
AudioTrackOpt = Annotated[
    int | None,
    typer.Option(help="Audio track to decode, from 0 (default: the default track, else the first with speech)."),
]
VadOpt = Annotated[
    bool, typer.Option(help="Voice activity detection: decode only speech, so silence and music get no text.")
]
ConditionOpt = Annotated[
    bool,
    typer.Option(help="Feed each window the previous text: more consistent style, but one hallucination can loop on."),
]
TracksOpt = Annotated[
    str | None, typer.Option(help="Subtitle passes: original, en (translation) or both, e.g. original,en.")
]

# ---------------------------------------------------------------- on a Ray cluster (run --ray)

RayOpt = Annotated[
    bool,
    typer.Option(
        "--ray",
        help="Run the batch on Ray: the cluster in RAY_ADDRESS or one running here, else a new local Ray "
        "(needs the optional ray extra of subgen-batch).",
    ),
]
RayAddressOpt = Annotated[
    str | None, typer.Option(help="Ray cluster to run on, e.g. 10.0.0.5:6379 or ray://head:10001 (implies --ray).")
]
RayActorsOpt = Annotated[
    int | None,
    typer.Option(help="Decoder actors on Ray, each holding one engine (default: one per GPU, else one per node)."),
]
RayGpusOpt = Annotated[
    float | None,
    typer.Option(help="GPUs per decoder actor on Ray (default: 1 if the cluster has GPUs and --device is not cpu)."),
]
RayCpusOpt = Annotated[
    float | None,
    typer.Option(help="CPUs reserved per decoder actor on Ray (default: 1, less where the CPU tasks need room)."),
]

# ---------------------------------------------------------------- files written

FormatOpt = Annotated[str, typer.Option("--format", "-f", help="Comma list of srt, vtt, json, txt, ass.")]
OutputDirOpt = Annotated[
    Path | None,
    typer.Option("--output-dir", "-o", help="Write here instead of beside each input (run mirrors the input tree)."),
]
DownloadDirOpt = Annotated[
    Path | None, typer.Option(help="Where URL downloads go (default: output dir or the current folder).")
]
OverwriteOpt = Annotated[
    bool, typer.Option(help="Redo items whose outputs exist (subtitles, or the .subtitled or .burned video copy).")
]
ReportOpt = Annotated[Path | None, typer.Option(help="Also write the run summary as JSON here.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# ---------------------------------------------------------------- readability limits (run makes them, check lints)

PresetOpt = Annotated[Preset, typer.Option(help="Readability limits (flags below override).")]
MaxCharsOpt = Annotated[int | None, typer.Option(help="Characters per line (preset: 42 netflix, 37 bbc).")]
MaxLinesOpt = Annotated[int | None, typer.Option(help="Lines per cue (preset: 2).")]
MaxCpsOpt = Annotated[
    float | None, typer.Option(help="Reading speed, characters per second incl. spaces (netflix: 20).")
]
MinDurationOpt = Annotated[float | None, typer.Option(help="Shortest cue in seconds (preset: 0.833).")]
MaxDurationOpt = Annotated[float | None, typer.Option(help="Longest cue in seconds (preset: 7).")]
MinGapOpt = Annotated[float | None, typer.Option(help="Gap between cues in seconds (preset: 2 frames of the video).")]
FpsOpt = Annotated[float | None, typer.Option(help="Video frame rate; the minimum gap is 2 frames (default: 25).")]
CheckLanguageOpt = Annotated[
    str | None,
    typer.Option(help="Language of every file (default: from NAME.LANG.srt); zh, ja, ko: 16 characters a line."),
]
MinConformanceOpt = Annotated[
    float, typer.Option(help="Exit 1 when any file has a smaller share of cues that break no rule.")
]
EvalLanguageOpt = Annotated[str | None, typer.Option(help="Normalizer language (default: from names, else en).")]

# ---------------------------------------------------------------- subtitles into the video (run, burn, embed)

BurnOpt = Annotated[bool, typer.Option(help="Also write <stem>.burned.<ext> with the subtitles burnt in.")]
EmbedOpt = Annotated[
    bool, typer.Option(help="Also write <stem>.subtitled.<ext> with the subtitles as a soft track (no re-encode).")
]
InPlaceOpt = Annotated[
    bool,
    typer.Option(help="Embed into the source video itself, replaced once verified (same-language tracks replaced)."),
]
KeepVideoOpt = Annotated[bool, typer.Option(help="Download URLs with the picture even without --burn/--embed.")]
LanguagesOpt = Annotated[
    str | None, typer.Option(help="Comma list of language codes, one per file (default: from the names).")
]
FontOpt = Annotated[str, typer.Option(help="Font family (fontconfig name) for burn-in and ASS.")]
FontSizeOpt = Annotated[float, typer.Option(help="Font size in pixels of a 288-line frame (scales with the video).")]
OutlineOpt = Annotated[float, typer.Option(help="Black outline width around the white text.")]
PositionOpt = Annotated[Position, typer.Option(help="Where the subtitles sit in the frame.")]
MarginOpt = Annotated[int, typer.Option(help="Distance from the frame edge, same units as --font-size.")]
AssStyleOpt = Annotated[
    str | None,
    typer.Option(help="Raw ASS style fields overriding the above, e.g. 'PrimaryColour=&H0000FFFF,Bold=1'."),
]
FontsDirOpt = Annotated[
    Path | None, typer.Option(help="Folder of extra fonts (e.g. CJK) for burn-in, used by libass and fontconfig.")
]
CrfOpt = Annotated[int, typer.Option(help="x264 quality for burn-in (0-51, lower is better).")]


# ---------------------------------------------------------------- arguments into option objects


def plain(value: Any) -> Any:
    """A choice as its string value (what the option dataclasses take); anything else unchanged."""
    return value.value if isinstance(value, Enum) else value


def pick(cls: type[T], params: Mapping[str, Any], **fixed: Any) -> T:
    """Dataclass ``cls`` from the ``params`` named like its fields (choices as values), plus ``fixed`` fields."""
    names = {f.name for f in dataclasses.fields(cast(Any, cls))} - set(fixed)
    return cls(**{name: plain(params[name]) for name in names if name in params}, **fixed)


def cue_options(params: Mapping[str, Any]) -> CueOptions:
    """The ``--preset`` limits with the limit flags given (``--max-chars`` ...) overriding single fields."""
    overrides = {f.name: plain(params[f.name]) for f in dataclasses.fields(CueOptions) if f.name in params}
    return preset_options(overrides.pop("preset"), **overrides)


def output_options(params: Mapping[str, Any]) -> OutputOptions:
    """``--format`` (a comma list), ``--output-dir`` and ``--overwrite``."""
    formats = tuple(f.strip().lower() for f in params["format"].split(",") if f.strip())
    return OutputOptions(formats=formats, output_dir=params["output_dir"], overwrite=params["overwrite"])


def video_options(params: Mapping[str, Any], **fixed: Any) -> VideoOptions:
    """The burn/embed flags given and the subtitle style (``--font`` ...), plus ``fixed`` fields."""
    return pick(VideoOptions, params, style=pick(SubtitleStyle, params), **fixed)


STYLE = SubtitleStyle()
"""The default style, whose fields are the style flags' defaults."""
