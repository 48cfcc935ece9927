"""Writers render cues faithfully; writes are atomic."""

from __future__ import annotations

import json

import pysrt
import pytest

from subgen.core.errors import OutputError
from subgen.core.paths import TEMP_MARK, atomic_write, output_paths
from subgen.core.types import Cue, Segment, Transcript, Word
from subgen.subtitles.writers import WRITERS, Document, write_outputs


@pytest.fixture
def doc() -> Document:
    words = (Word(" Tom", 1.0, 1.4, 0.9), Word(" &", 1.4, 1.5, 0.8), Word(" <Jerry>", 1.5, 2.25, 0.7))
    transcript = Transcript("en", (Segment(1.0, 2.25, " Tom & <Jerry> --> go", words),), 3.0, "tiny.en")
    cues = (Cue(1.0, 2.25, ("Tom & <Jerry>", "--> go")), Cue(3661.5, 3662.0, ("später",)))
    return Document(cues, transcript)


def test_srt_round_trips_through_pysrt(doc, tmp_path):
    path = tmp_path / "x.srt"
    path.write_text(WRITERS["srt"].render(doc), encoding="utf-8")
    subs = pysrt.open(str(path), encoding="utf-8")
    assert len(subs) == 2
    assert subs[0].start.ordinal == 1000 and subs[0].end.ordinal == 2250
    assert "-->" not in subs[0].text
    assert subs[1].start.hours == 1 and subs[1].text == "später"


def test_vtt_escapes_markup_and_arrows(doc):
    text = WRITERS["vtt"].render(doc)
    assert text.startswith("WEBVTT\n")
    assert "00:00:01.000 --> 00:00:02.250" in text
    assert "Tom &amp; &lt;Jerry&gt;\n--&gt; go" in text
    assert "01:01:01.500 --> 01:01:02.000" in text


def test_json_has_segments_words_language_model_duration(doc):
    data = json.loads(WRITERS["json"].render(doc))
    assert data["language"] == "en" and data["model"] == "tiny.en" and data["duration"] == 3.0
    assert data["segments"][0]["words"][2] == {"text": "<Jerry>", "start": 1.5, "end": 2.25, "probability": 0.7}
    assert data["cues"][1]["lines"] == ["später"]


def test_txt_is_plain_text(doc):
    assert WRITERS["txt"].render(doc) == "Tom & <Jerry> --> go\n"


def test_output_paths_use_stem_lang_ext(tmp_path):
    paths = output_paths(tmp_path / "talk.v2", "de", ("srt", "vtt"))
    assert paths == {"srt": tmp_path / "talk.v2.de.srt", "vtt": tmp_path / "talk.v2.de.vtt"}


def test_write_outputs_writes_every_format(doc, tmp_path):
    paths = output_paths(tmp_path / "sub" / "clip", "en", tuple(WRITERS))
    written = write_outputs(doc, paths)
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert not list(tmp_path.rglob(f"*{TEMP_MARK}"))


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "keep.srt"
    target.write_text("old complete file\n", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("subgen.core.paths.os.replace", broken_replace)
    with pytest.raises(OutputError, match=r"keep\.srt"):
        atomic_write(target, "new content")
    assert target.read_text(encoding="utf-8") == "old complete file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.srt"]


def test_written_files_get_normal_permissions(tmp_path):
    import os
    import stat

    from subgen.core.paths import atomic_write

    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.en.srt", "1\n00:00:00,000 --> 00:00:01,000\nhi\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.en.srt").stat().st_mode) == 0o644, "readable by a media server's user"
