"""Frozen option objects for every stage, checked before any model loads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from subgen.core.errors import UsageError
from subgen.core.languages import LANGUAGE_CODES

TASKS = ("transcribe", "translate")
DEVICES = ("auto", "cpu", "cuda")
ENGINES = ("auto", "faster-whisper", "openai-whisper")
DEFAULT_MODEL = "base"
FORMATS = ("srt", "vtt", "json", "txt", "ass")
"""Output formats; each is also its file extension (the writer registry has exactly these)."""

WINDOW_SECONDS = 18.0
"""Most condensed audio per decode window (Whisper hears at most 30 s).

Measured with tiny.en on eight long-form files built from the English corpus (A-H, 2,068 words): pooled WER
9.3 % with 10 s windows, 7.4 % with 12 s, 6.4 % with 15 s, 5.2 % with 18 s, 6.5 % with 20 s, 6.4 % with 22 s,
6.4 % with 29 s (``python benchmarks/windows.py``; single files move by a few words either way). Shorter
windows also encode faster: the faster-whisper engine encodes a window's length plus a tail, not 30 s.
"""
BEAM_RANGE = (1, 20)
"""``--beam-size``: Whisper's own default is 5; past 20 memory grows by hundreds of MB a second for no gain."""
BATCH_RANGE = (1, 256)
"""``--batch-size``: windows per decoder call (256 fills a large GPU many times over)."""


def in_range(flag: str, value: float, low: float, high: float) -> None:
    """Raise a ``UsageError`` naming ``flag`` unless ``low <= value <= high``."""
    if not low <= value <= high:
        raise UsageError(f"{flag} must be between {low:g} and {high:g}, not {value:g}")


WINDOW_RANGE = (5.0, 29.0)
"""Allowed ``--window`` values: shorter loses context; Whisper hears 30 s and its last timestamp needs room."""


@dataclass(frozen=True)
class TranscribeOptions:
    """How the engine decodes: model, language, task, prompt and device."""

    model: str = DEFAULT_MODEL
    language: str | None = None
    task: str = "transcribe"
    initial_prompt: str | None = None
    device: str = "auto"
    vad: bool = True
    condition_on_previous_text: bool = False
    beam_size: int = 5
    engine: str = "auto"
    batch_size: int | None = None
    window: float = WINDOW_SECONDS
    audio_track: int | None = None
    """The audio stream to decode (0-based); None: the default track, else the first one with speech."""

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UsageError(f"--task must be one of {', '.join(TASKS)}, not '{self.task}'")
        if self.device not in DEVICES:
            raise UsageError(f"--device must be one of {', '.join(DEVICES)}, not '{self.device}'")
        if self.engine not in ENGINES:
            raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not '{self.engine}'")
        in_range("--beam-size", self.beam_size, *BEAM_RANGE)
        if self.batch_size is not None:
            in_range("--batch-size", self.batch_size, *BATCH_RANGE)
        if self.audio_track is not None:
            in_range("--audio-track", self.audio_track, 0, 63)
        if not WINDOW_RANGE[0] <= self.window <= WINDOW_RANGE[1]:
            low, high = WINDOW_RANGE
            raise UsageError(f"--window must be between {low:g} and {high:g} seconds, not {self.window:g}")
        if self.language is not None and self.language not in LANGUAGE_CODES:
            raise UsageError(f"--language '{self.language}' is not a Whisper language code (e.g. en, de, es, fr, zh)")


@dataclass(frozen=True)
class CueOptions:
    """Readability limits that shape cues; ``PRESETS`` holds the named sets, flags override single fields."""

    preset: str = "netflix"
    max_chars: int = 42
    max_lines: int = 2
    max_cps: float | None = 20.0
    max_wpm: float | None = None
    min_duration: float = 5 / 6
    max_duration: float = 7.0
    min_gap: float | None = None
    gap_frames: int = 2
    close_gap: float = 0.5
    max_pause: float = 1.0
    max_extend: float = 0.5
    fps: float = 25.0

    def __post_init__(self) -> None:
        in_range("--max-chars", self.max_chars, 10, 200)
        in_range("--max-lines", self.max_lines, 1, 10)
        if self.max_cps is not None and self.max_cps <= 0:
            raise UsageError(f"--max-cps must be positive, not {self.max_cps}")
        in_range("--max-duration", self.max_duration, 0.1, 60)
        if not 0 < self.min_duration < self.max_duration:
            raise UsageError(
                f"--min-duration ({self.min_duration}) must be positive and below --max-duration ({self.max_duration})"
            )
        if self.min_gap is not None and not 0 <= self.min_gap < 1:
            raise UsageError(f"--min-gap is in seconds and must be in [0, 1), not {self.min_gap}")
        if self.fps <= 0:
            raise UsageError(f"frame rate must be positive, not {self.fps}")

    @property
    def gap(self) -> float:
        """The minimum gap between cues in seconds: ``min_gap``, else ``gap_frames`` at ``fps``."""
        return self.min_gap if self.min_gap is not None else self.gap_frames / self.fps

    def for_language(self, language: str | None) -> CueOptions:
        """These limits adapted to ``language``: a character-based line limit for Chinese, Japanese, Korean."""
        if language not in CJK_CPS:
            return self
        return replace(self, max_chars=min(self.max_chars, CJK_MAX_CHARS), max_cps=CJK_CPS[language], max_wpm=None)


# Netflix's timed-text style guide: 16 characters per line for Chinese and Korean, and reading speeds
# of 9 (Chinese), 4 (Japanese) and 12 (Korean) characters per second.
CJK_MAX_CHARS = 16
CJK_CPS = {"zh": 9.0, "yue": 9.0, "ja": 4.0, "ko": 12.0}

PRESETS: dict[str, CueOptions] = {
    "netflix": CueOptions(),
    # BBC subtitle guidelines: 37 characters, 160-180 words per minute, gaps under a second closed.
    "bbc": CueOptions(preset="bbc", max_chars=37, max_cps=None, max_wpm=180.0, min_duration=1.0, close_gap=1.0),
}


def preset_options(name: str, **overrides: Any) -> CueOptions:
    """The named preset with the given fields replaced (``None`` overrides are ignored)."""
    if name not in PRESETS:
        raise UsageError(f"unknown --preset '{name}'; choose from {', '.join(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class OutputOptions:
    """Which files to write and where."""

    formats: tuple[str, ...] = ("srt",)
    output_dir: Path | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        if not self.formats:
            raise UsageError("--format needs at least one format")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise UsageError(f"unknown --format {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
        if len(set(self.formats)) != len(self.formats):
            object.__setattr__(self, "formats", tuple(dict.fromkeys(self.formats)))


@dataclass(frozen=True)
class RunOptions:
    """Everything one ``subgen run`` needs besides its inputs."""

    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)
    cues: CueOptions = field(default_factory=CueOptions)
    output: OutputOptions = field(default_factory=OutputOptions)
    download_dir: Path | None = None
    video: VideoOptions = field(default_factory=lambda: VideoOptions())  # defined below, with the video options
    tracks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.video.active and not set(self.output.formats) & {"srt", "vtt", "ass", "json"}:
            raise UsageError("--burn/--embed need timed subtitles: add srt (or vtt, ass, json) to --format")

    def passes(self) -> list[TranscribeOptions]:
        """One decoding pass per subtitle track: the original language first, then the English translation."""
        if not self.tracks:
            return [self.transcribe]
        tasks = [task for track, task in (("original", "transcribe"), ("en", "translate")) if track in self.tracks]
        return [replace(self.transcribe, task=task) for task in tasks]


POSITIONS = ("bottom", "top")
TRACKS = ("original", "en")
# The [V4+ Styles] fields a raw --ass-style may set (names as in ASS's Format line, compared case-insensitively).
ASS_STYLE_FIELDS = (
    "Fontname",
    "Fontsize",
    "PrimaryColour",
    "SecondaryColour",
    "OutlineColour",
    "BackColour",
    "Bold",
    "Italic",
    "Underline",
    "StrikeOut",
    "ScaleX",
    "ScaleY",
    "Spacing",
    "Angle",
    "BorderStyle",
    "Outline",
    "Shadow",
    "Alignment",
    "MarginL",
    "MarginR",
    "MarginV",
    "Encoding",
)


@dataclass(frozen=True)
class SubtitleStyle:
    """How ASS and burnt-in subtitles look; sizes are pixels of a 288-line frame, scaled to the video's height."""

    font: str = "Arial"
    font_size: float = 20.0
    outline: float = 2.0
    position: str = "bottom"
    margin: int = 16
    ass_style: str | None = None

    def __post_init__(self) -> None:
        if not self.font.strip() or any(c in self.font for c in ",\r\n"):
            raise UsageError(f"--font must be a font family name without commas, not '{self.font}'")
        if not 0 < self.font_size <= 200:
            raise UsageError(f"--font-size must be in (0, 200], not {self.font_size}")
        if not 0 <= self.outline <= 20:
            raise UsageError(f"--outline must be in [0, 20], not {self.outline}")
        if self.position not in POSITIONS:
            raise UsageError(f"--position must be one of {', '.join(POSITIONS)}, not '{self.position}'")
        if not 0 <= self.margin <= 200:
            raise UsageError(f"--margin must be in [0, 200], not {self.margin}")
        self.overrides()  # a malformed --ass-style is a usage error now, not a failed encode later

    def overrides(self) -> dict[str, str]:
        """The raw ``--ass-style`` as ASS style fields (``Key=Value`` pairs separated by commas or semicolons)."""
        if not self.ass_style:
            return {}
        known = {name.lower(): name for name in ASS_STYLE_FIELDS}
        fields = {}
        for pair in self.ass_style.replace(";", ",").split(","):
            key, sep, value = (part.strip() for part in pair.partition("="))
            if not pair.strip():
                continue
            if not sep or key.lower() not in known or not value or "\n" in value or "\r" in value:
                raise UsageError(
                    f"--ass-style: '{pair.strip()}' is not Key=Value with an ASS style field "
                    f"({', '.join(ASS_STYLE_FIELDS)})"
                )
            fields[known[key.lower()]] = value
        return fields


@dataclass(frozen=True)
class VideoOptions:
    """What ``--burn`` / ``--embed`` make of each item's video; ``keep_video`` only asks downloads for the picture."""

    burn: bool = False
    embed: bool = False
    in_place: bool = False
    keep_video: bool = False
    style: SubtitleStyle = field(default_factory=SubtitleStyle)
    fonts_dir: Path | None = None
    crf: int = 18
    x264_preset: str = "veryfast"

    def __post_init__(self) -> None:
        if self.burn and self.embed:
            raise UsageError("--burn and --embed each write a copy of the video; choose one per run")
        if self.in_place and not self.embed:
            raise UsageError("--in-place only applies to --embed (burning in re-encodes the picture)")
        if self.fonts_dir is not None and not self.fonts_dir.is_dir():
            raise UsageError(f"--fonts-dir {self.fonts_dir}: not a folder")
        if not 0 <= self.crf <= 51:
            raise UsageError(f"--crf must be in [0, 51], not {self.crf}")

    @property
    def active(self) -> bool:
        """True when a video file is written."""
        return self.burn or self.embed

    @property
    def needs_picture(self) -> bool:
        """True when downloads must include the video, not only the audio."""
        return self.active or self.keep_video


def parse_tracks(value: str | None, task: str) -> tuple[str, ...]:
    """``--tracks original,en`` as a checked tuple (empty: one pass with ``--task``)."""
    if not value:
        return ()
    tracks = tuple(dict.fromkeys(t.strip().lower() for t in value.split(",") if t.strip()))
    unknown = [t for t in tracks if t not in TRACKS]
    if unknown or not tracks:
        raise UsageError(f"--tracks takes a comma list of {', '.join(TRACKS)}, not '{value}'")
    if task == "translate" and "en" not in tracks:
        raise UsageError("--task translate conflicts with --tracks without 'en'; add en to --tracks")
    return tracks
