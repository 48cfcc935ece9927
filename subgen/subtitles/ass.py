"""Render cues as a styled ASS script: the `ass` output format and what burn-in draws."""

from __future__ import annotations

from collections.abc import Iterable

from subgen.core.options import ASS_STYLE_FIELDS, SubtitleStyle
from subgen.core.types import Cue

# libass scales a 288-line script to the video's height, so sizes mean the same at any resolution
# (the script resolution ffmpeg itself gives SRT files it renders).
PLAY_RES = (384, 288)
_ALIGNMENT = {"bottom": 2, "top": 8}  # numpad layout: bottom centre, top centre


def style_fields(style: SubtitleStyle) -> dict[str, str]:
    """The ASS ``Default`` style: white text, black outline and a soft shadow, readable on any background."""
    fields = dict.fromkeys(ASS_STYLE_FIELDS, "0")
    fields.update(
        Fontname=style.font,
        Fontsize=_number(style.font_size),
        PrimaryColour="&H00FFFFFF",
        SecondaryColour="&H000000FF",
        OutlineColour="&H00000000",
        BackColour="&H80000000",
        ScaleX="100",
        ScaleY="100",
        BorderStyle="1",
        Outline=_number(style.outline),
        Shadow="1" if style.outline else "0",
        Alignment=str(_ALIGNMENT[style.position]),
        MarginL="20",
        MarginR="20",
        MarginV=str(style.margin),
        Encoding="1",
    )
    fields.update(style.overrides())
    return fields


def _number(value: float) -> str:
    return f"{value:g}"


def ass_time(seconds: float) -> str:
    """ASS timestamps: h:mm:ss.cc (centiseconds)."""
    cs = round(max(seconds, 0.0) * 100)
    hours, rest = divmod(cs, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs, centis = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{centis:02d}"


def ass_escape(line: str) -> str:
    """One line of plain text as ASS event text: no override blocks, no escapes, no forced breaks.

    A brace would open an override block, so braces become parentheses; a backslash is followed by a
    word joiner (U+2060, drawn as nothing) so ``\\N``, ``\\h`` or ``\\{`` cannot form.
    """
    return line.replace("\\", "\\\u2060").replace("{", "(").replace("}", ")").replace("\n", " ")


def _header(style: SubtitleStyle) -> list[str]:
    fields = style_fields(style)
    return [
        "[Script Info]",
        "; Written by subgen",
        "ScriptType: v4.00+",
        f"PlayResX: {PLAY_RES[0]}",
        f"PlayResY: {PLAY_RES[1]}",
        "ScaledBorderAndShadow: yes",
        "WrapStyle: 0",
        "YCbCr Matrix: None",
        "",
        "[V4+ Styles]",
        "Format: Name, " + ", ".join(ASS_STYLE_FIELDS),
        "Style: Default," + ",".join(fields[name] for name in ASS_STYLE_FIELDS),
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]


def render(cues: Iterable[Cue], style: SubtitleStyle) -> str:
    """A complete ASS script: the header with the ``Default`` style, then one Dialogue per cue."""
    lines = _header(style)
    for cue in cues:
        text = r"\N".join(ass_escape(line) for line in cue.lines)
        lines.append(f"Dialogue: 0,{ass_time(cue.start)},{ass_time(cue.end)},Default,,0,0,0,,{text}")
    return "\n".join(lines) + "\n"
