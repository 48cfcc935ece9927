"""The one subtitle reader: srt, vtt, ass/ssa and subgen json into Cues, written files read back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from subgen.core.errors import SubtitleFileError
from subgen.core.options import FORMATS, SubtitleStyle
from subgen.core.types import Cue, Segment, Transcript, Word
from subgen.subtitles.io import read_cues, read_text, visible
from subgen.subtitles.writers import WRITERS, Document

CUES = (
    Cue(1.0, 2.5, ("Ask not what your country", "can do for you,")),
    Cue(3.04, 4.2, ("ask what you can do",)),
    Cue(5.0, 6.0, ("5 < 6 & stay",)),
)


def _document() -> Document:
    words = tuple(Word(f" w{i}", 1.0 + i, 1.5 + i) for i in range(3))
    transcript = Transcript("en", (Segment(1.0, 6.0, " text", words),), 6.0, "tiny.en")
    return Document(CUES, transcript, SubtitleStyle())


def test_the_writer_registry_has_exactly_the_formats_the_options_accept():
    assert tuple(WRITERS) == FORMATS
    assert all(writer.extension == name for name, writer in WRITERS.items())


@pytest.mark.parametrize("fmt", ["srt", "vtt", "ass", "json"])
def test_every_timed_format_reads_back_what_was_written(tmp_path: Path, fmt: str):
    path = tmp_path / f"talk.en.{fmt}"
    path.write_text(WRITERS[fmt].render(_document()), encoding="utf-8")
    got = read_cues(path)
    assert [(c.start, c.end) for c in got] == [(c.start, c.end) for c in CUES]
    assert [c.lines for c in got] == [c.lines for c in CUES]
    spoken = "text" if fmt == "json" else "Ask not what your country can do for you,"
    assert spoken in read_text(path), "json's text is its transcript; the others' their cues"


def test_ssa_and_markup_become_plain_lines(tmp_path: Path):
    ass = tmp_path / "a.ass"
    ass.write_text(WRITERS["ass"].render(_document()).replace("Ask not", "{\\i1}Ask{\\i0} not"), encoding="utf-8")
    assert read_cues(ass)[0].lines == CUES[0].lines
    srt = tmp_path / "b.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\n<i>hello</i>\n\n2\n00:00:03,000 --> 00:00:04,000\n \n\n", "utf-8")
    cues = read_cues(srt)
    assert cues[0].lines == ("hello",) and len(cues) == 2, "an empty cue is kept (check reports it)"
    assert visible(cues) == (Cue(1.0, 2.0, ("hello",)),), "players and burn-in show only cues with text"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.txt", "plain words", "has no cue times"),
        ("missing.srt", None, "not found"),
        ("bad.ass", "1\n00:00:01,000 --> 00:00:02,000\nan srt named .ass\n", "no \\[Events\\] section"),
    ],
)
def test_unreadable_files_name_the_file_and_the_fix(tmp_path: Path, name: str, content: str | None, message: str):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SubtitleFileError, match=message) as info:
        read_cues(path)
    assert str(path) in str(info.value)
