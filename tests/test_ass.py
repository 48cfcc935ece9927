"""The styled ASS writer: header and style from the options, event text that can never become override tags."""

from __future__ import annotations

import pytest

from subgen.core.errors import UsageError
from subgen.core.options import SubtitleStyle
from subgen.core.types import Cue, Transcript
from subgen.subtitles.ass import ass_escape, ass_time, render, style_fields
from subgen.subtitles.writers import WRITERS, Document


def _events(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("Dialogue:")]


def test_ass_is_in_the_registry_and_renders_the_documents_style():
    doc = Document(
        (Cue(1.0, 2.5, ("first line", "second")),), Transcript("en", (), 3.0, "m"), SubtitleStyle(font="DejaVu Sans")
    )
    text = WRITERS["ass"].render(doc)
    assert WRITERS["ass"].extension == "ass"
    assert "PlayResY: 288" in text and "Style: Default,DejaVu Sans,20," in text
    assert _events(text) == [r"Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,first line\Nsecond"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("{\\b1}bold?", "(\\\u2060b1)bold?"),
        ("a \\N b \\h c", "a \\\u2060N b \\\u2060h c"),
        ("}{", ")("),
        ("line\nbreak", "line break"),
        ("plain, text: 100%", "plain, text: 100%"),
    ],
)
def test_event_text_cannot_open_override_blocks_or_escapes(text, shown):
    assert ass_escape(text) == shown
    assert "{" not in ass_escape(text) and "\\N" not in ass_escape(text)


def test_times_are_centiseconds_and_never_negative():
    assert ass_time(3725.456) == "1:02:05.46"
    assert ass_time(-0.2) == "0:00:00.00"


def test_position_margin_outline_and_raw_overrides_reach_the_style():
    fields = style_fields(
        SubtitleStyle(
            position="top", margin=30, outline=0, font_size=28.5, ass_style="bold=1; PrimaryColour=&H0000FFFF"
        )
    )
    assert (fields["Alignment"], fields["MarginV"], fields["Outline"], fields["Shadow"]) == ("8", "30", "0", "0")
    assert (fields["Fontsize"], fields["Bold"], fields["PrimaryColour"]) == ("28.5", "1", "&H0000FFFF")
    assert style_fields(SubtitleStyle())["Alignment"] == "2"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ass_style": "Colour=red"},
        {"ass_style": "Bold"},
        {"ass_style": "Bold=1\nDialogue: injected"},
        {"font": "Arial,Bold"},
        {"font_size": 0},
        {"position": "middle"},
        {"margin": -1},
    ],
)
def test_bad_style_options_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        SubtitleStyle(**kwargs)


def test_an_empty_transcript_renders_a_valid_script_without_events():
    text = render([], SubtitleStyle())
    assert text.startswith("[Script Info]") and "[Events]" in text and not _events(text)
