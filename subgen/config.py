"""Frozen option objects for every stage, checked before any model loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from subgen.errors import InputError

TASKS = ("transcribe", "translate")
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_MODEL = "base"

# Whisper's language codes (a test keeps this equal to whisper.tokenizer.LANGUAGES).
LANGUAGE_CODES = frozenset(
    [
        "en",
        "zh",
        "de",
        "es",
        "ru",
        "ko",
        "fr",
        "ja",
        "pt",
        "tr",
        "pl",
        "ca",
        "nl",
        "ar",
        "sv",
        "it",
        "id",
        "hi",
        "fi",
        "vi",
        "he",
        "uk",
        "el",
        "ms",
        "cs",
        "ro",
        "da",
        "hu",
        "ta",
        "no",
        "th",
        "ur",
        "hr",
        "bg",
        "lt",
        "la",
        "mi",
        "ml",
        "cy",
        "sk",
        "te",
        "fa",
        "lv",
        "bn",
        "sr",
        "az",
        "sl",
        "kn",
        "et",
        "mk",
        "br",
        "eu",
        "is",
        "hy",
        "ne",
        "mn",
        "bs",
        "kk",
        "sq",
        "sw",
        "gl",
        "mr",
        "pa",
        "si",
        "km",
        "sn",
        "yo",
        "so",
        "af",
        "oc",
        "ka",
        "be",
        "tg",
        "sd",
        "gu",
        "am",
        "yi",
        "lo",
        "uz",
        "fo",
        "ht",
        "ps",
        "tk",
        "nn",
        "mt",
        "sa",
        "lb",
        "my",
        "bo",
        "tl",
        "mg",
        "as",
        "tt",
        "haw",
        "ln",
        "ha",
        "ba",
        "jw",
        "su",
        "yue",
    ]
)


class UsageError(InputError):
    """Options that contradict each other or name unknown values (exit code 2)."""


@dataclass(frozen=True)
class TranscribeOptions:
    """How the engine decodes: model, language, task, prompt and device."""

    model: str = DEFAULT_MODEL
    language: str | None = None
    task: str = "transcribe"
    initial_prompt: str | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UsageError(f"--task must be one of {', '.join(TASKS)}, not '{self.task}'")
        if self.device not in DEVICES:
            raise UsageError(f"--device must be one of {', '.join(DEVICES)}, not '{self.device}'")
        if self.language is not None and self.language not in LANGUAGE_CODES:
            raise UsageError(f"--language '{self.language}' is not a Whisper language code (e.g. en, de, es, fr, zh)")


@dataclass(frozen=True)
class CueOptions:
    """Limits that shape cues (the full readable-cue engine reads these too)."""

    max_chars: int = 42
    max_lines: int = 2

    def __post_init__(self) -> None:
        if self.max_chars < 10:
            raise UsageError(f"--max-chars must be at least 10, not {self.max_chars}")
        if self.max_lines < 1:
            raise UsageError(f"--max-lines must be at least 1, not {self.max_lines}")


@dataclass(frozen=True)
class OutputOptions:
    """Which files to write and where."""

    formats: tuple[str, ...] = ("srt",)
    output_dir: Path | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        from subgen.writers import WRITERS

        if not self.formats:
            raise UsageError("--format needs at least one format")
        unknown = [f for f in self.formats if f not in WRITERS]
        if unknown:
            raise UsageError(f"unknown --format {', '.join(unknown)}; choose from {', '.join(WRITERS)}")
        if len(set(self.formats)) != len(self.formats):
            object.__setattr__(self, "formats", tuple(dict.fromkeys(self.formats)))


@dataclass(frozen=True)
class RunOptions:
    """Everything one ``subgen run`` needs besides its inputs."""

    transcribe: TranscribeOptions = field(default_factory=TranscribeOptions)
    cues: CueOptions = field(default_factory=CueOptions)
    output: OutputOptions = field(default_factory=OutputOptions)
    download_dir: Path | None = None
