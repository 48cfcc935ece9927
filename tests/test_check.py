"""subgen check: every rule at and just past its limit, in files as written (whole milliseconds), and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import cli_loads_torch
from typer.testing import CliRunner

from subgen.cli import app
from subgen.core.errors import InputError, SubtitleFileError
from subgen.core.options import PRESETS, preset_options
from subgen.core.paths import split_language_suffix
from subgen.core.types import Cue
from subgen.subtitles.check import RULES, CheckResult, check_cues, check_file, cue_violations, subtitle_files, total
from subgen.subtitles.readability import reading_chars, words_per_minute

NETFLIX = PRESETS["netflix"]
BBC = PRESETS["bbc"]
# Far from zero, so start and end times are floats whose difference is not exact.
T0 = 3_661_123
runner = CliRunner()


def _time(ms: int, sep: str = ",") -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{sep}{rest % 1000:03d}"


def srt(*cues: tuple[int, int, str]) -> str:
    """An SRT file of (start ms, end ms, text) cues."""
    return "".join(f"{n}\n{_time(a)} --> {_time(b)}\n{text}\n\n" for n, (a, b, text) in enumerate(cues, 1))


def vtt(*cues: tuple[int, int, str]) -> str:
    """A WebVTT file of (start ms, end ms, text) cues."""
    return "WEBVTT\n\n" + "".join(f"{_time(a, '.')} --> {_time(b, '.')}\n{text}\n\n" for a, b, text in cues)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _first_cue(tmp_path: Path, text: str, options=NETFLIX, name: str = "clip.srt") -> frozenset[str]:
    from subgen.subtitles.io import read_cues

    return cue_violations(read_cues(_write(tmp_path / name, text)), options)[0]


def test_reading_chars_counts_spaces_and_punctuation_not_breaks_or_edges():
    assert reading_chars(["  Hello, world!  ", "Two."]) == 13 + 4
    assert reading_chars([]) == 0


def test_words_per_minute_ignores_dashes_and_handles_zero_duration():
    assert words_per_minute(["- Hello there,", "- hi 2"], 2.0) == 4 * 30
    assert words_per_minute(["Hello"], 0.0) == math.inf
    assert words_per_minute(["-"], 0.0) == 0.0


LINE_42, LINE_43 = "x" * 20 + " " + "y" * 20 + ".", "x" * 21 + " " + "y" * 20 + "."

# (case, cues as (start ms, end ms, text) relative to T0, rules the first cue breaks)
BOUNDARIES = [
    ("42 characters", [(0, 3000, LINE_42)], set()),
    ("43 characters", [(0, 3000, LINE_43)], {"line-length"}),
    ("42 characters on each of 2 lines", [(0, 5000, f"{LINE_42}\n{LINE_42}")], set()),
    ("3 lines", [(0, 3000, "one\ntwo\nthree")], {"line-count"}),
    ("20.0 cps", [(0, 2000, "a" * 40)], set()),
    ("20.1 cps", [(0, 1990, "a" * 40)], {"reading-speed"}),
    ("0.833 s", [(0, 833, "Hi.")], set()),
    ("0.832 s", [(0, 832, "Hi.")], {"min-duration"}),
    ("0.8 s", [(0, 800, "Hi.")], {"min-duration"}),
    ("7 s", [(0, 7000, "Hi.")], set()),
    ("7.001 s", [(0, 7001, "Hi.")], {"max-duration"}),
    ("gap of 2 frames at 25 fps (80 ms)", [(0, 1000, "Hi."), (1080, 2000, "Yo.")], set()),
    ("gap of 79 ms", [(0, 1000, "Hi."), (1079, 2000, "Yo.")], {"min-gap"}),
    ("cues back to back", [(0, 1000, "Hi."), (1000, 2000, "Yo.")], {"min-gap"}),
    ("1 ms overlap", [(0, 1000, "Hi."), (999, 2000, "Yo.")], {"overlap"}),
    ("markup only", [(0, 1000, "<i> </i>")], {"empty"}),
    (
        "everything at once",
        [(0, 500, f"{LINE_43}\nb\nc"), (400, 2000, "Yo.")],
        set(RULES) - {"max-duration", "min-gap", "empty"},
    ),
]


@pytest.mark.parametrize(("cues", "expected"), [b[1:] for b in BOUNDARIES], ids=[b[0] for b in BOUNDARIES])
def test_netflix_rules_at_and_past_each_limit(tmp_path, cues, expected):
    shifted = [(T0 + a, T0 + b, text) for a, b, text in cues]
    assert _first_cue(tmp_path, srt(*shifted)) == expected
    assert _first_cue(tmp_path, vtt(*shifted), name="clip.vtt") == expected


@pytest.mark.parametrize(("end_ms", "expected"), [(1400, set()), (1399, {"reading-speed"})])
def test_reading_speed_exactly_at_the_limit_survives_float_division(tmp_path, end_ms, expected):
    # 21 / (1400 / 1000) is 15.000000000000002 in floats; exactly 15 characters per second.
    options = preset_options("netflix", max_cps=15.0)
    assert _first_cue(tmp_path, srt((T0, T0 + end_ms, "a" * 21)), options) == expected


@pytest.mark.parametrize(("gap_ms", "expected"), [(83, set()), (82, {"min-gap"})])
def test_two_frames_at_23_976_fps_round_to_83_ms(tmp_path, gap_ms, expected):
    options = preset_options("netflix", fps=24000 / 1001)
    text = srt((T0, T0 + 1000, "Hi."), (T0 + 1000 + gap_ms, T0 + 2000, "Yo."))
    assert _first_cue(tmp_path, text, options) == expected


@pytest.mark.parametrize(
    ("end_ms", "expected"),
    [(2000, set()), (1999, {"reading-speed"})],
    ids=["180 wpm", "just over 180 wpm"],
)
def test_bbc_counts_words_per_minute_not_characters(tmp_path, end_ms, expected):
    # 6 words (the dash is none) in 36 characters: 18 characters per second pass netflix; 180 wpm is bbc's limit.
    text = srt((T0, T0 + end_ms, "Internationally, six words: - a bc d"))
    assert _first_cue(tmp_path, text, BBC) == expected


def test_bbc_line_length_is_37(tmp_path):
    assert _first_cue(tmp_path, srt((T0, T0 + 5000, "a" * 37)), BBC) == set()
    assert _first_cue(tmp_path, srt((T0, T0 + 5000, "a" * 38)), BBC) == {"line-length"}


@pytest.mark.parametrize(("line", "expected"), [("字" * 16, set()), ("字" * 17, {"line-length"})])
def test_cjk_languages_get_16_characters_a_line(tmp_path, line, expected):
    text = srt((T0, T0 + 6000, line))
    named = check_file(_write(tmp_path / "film.zh.srt", text), NETFLIX)
    flagged = check_file(_write(tmp_path / "film.srt", text), NETFLIX, language="ja")
    unknown = check_file(_write(tmp_path / "film.srt", text), NETFLIX)
    assert (named.language, named.options.max_chars, flagged.options.max_chars) == ("zh", 16, 16)
    assert {rule for rule, n in named.result.violations.items() if n} == expected
    assert flagged.result.violations["line-length"] == len(expected)
    assert unknown.result.violations["line-length"] == 0


def test_gaps_are_measured_in_start_order_not_file_order(tmp_path):
    text = srt((T0 + 2000, T0 + 3000, "Second."), (T0, T0 + 1950, "First."))
    assert [set(v) for v in cue_violations(_read(tmp_path, text), NETFLIX)] == [set(), {"min-gap"}]


def _read(tmp_path: Path, text: str):
    from subgen.subtitles.io import read_cues

    return read_cues(_write(tmp_path / "x.srt", text))


def test_counts_conformance_and_open_gaps(tmp_path):
    cues = _read(
        tmp_path,
        srt(
            (T0, T0 + 1000, "One."),
            (T0 + 1500, T0 + 2500, "Two."),
            (T0 + 3001, T0 + 4000, "Three."),
            (T0 + 4080, T0 + 4500, "Four."),
        ),
    )
    result = check_cues(cues, NETFLIX)
    assert (result.cues, result.clean, result.open_gaps) == (4, 3, 1)
    # Gaps: 0.5 s (open), 0.501 s (beyond close_gap), 2 frames (closed); the last cue is too short.
    assert result.violations == {rule: int(rule == "min-duration") for rule in RULES}
    assert result.conformance == 0.75
    assert CheckResult(0, 0, dict.fromkeys(RULES, 0)).conformance == 1.0
    both = total([result, result])
    assert (both.cues, both.clean, both.violations["min-duration"], both.open_gaps) == (8, 6, 2, 2)


def test_cues_from_the_cue_maker_are_checked_directly():
    cues = [Cue(0.0, 1.0, ("Hello.",)), Cue(1.04, 2.0, ("World.",))]
    assert cue_violations(cues, NETFLIX) == [frozenset({"min-gap"}), frozenset()]


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("talk.en.srt", ("talk", "en", ".srt")),
        ("my.talk.ja.VTT", ("my.talk", "ja", ".VTT")),
        ("talk.v2.srt", ("talk.v2", None, ".srt")),
        ("talk.srt", ("talk", None, ".srt")),
        ("talk", ("talk", None, "")),
    ],
)
def test_split_language_suffix(name, parts):
    assert split_language_suffix(name) == parts


def test_subtitle_files_expand_folders_to_srt_and_vtt(tmp_path):
    a = _write(tmp_path / "d" / "a.en.srt", "")
    b = _write(tmp_path / "d" / "sub" / "b.vtt", "WEBVTT\n")
    for ignored in ("c.json", "d.txt", ".hidden.srt"):
        _write(tmp_path / "d" / ignored, "")
    explicit = _write(tmp_path / "e.json", "{}")
    assert subtitle_files([tmp_path / "d", explicit, a]) == [a, b, explicit]
    with pytest.raises(InputError, match="no such file"):
        subtitle_files([tmp_path / "missing.srt"])
    with pytest.raises(InputError, match="not a subtitle file"):
        subtitle_files([tmp_path / "d" / "d.txt"])
    with pytest.raises(InputError, match=r"no \.srt or \.vtt"):
        subtitle_files([_write(tmp_path / "empty" / "x.txt", "").parent])


def test_empty_srt_has_no_cues_and_conforms(tmp_path):
    checked = check_file(_write(tmp_path / "silence.en.srt", ""), NETFLIX)
    assert (checked.result.cues, checked.result.conformance) == (0, 1.0)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.srt", "1\n00:00:01,000 --> 00:00:0x\nhi\n", "not valid SubRip"),
        ("bad.vtt", "00:01.000 --> 00:02.000\nhi\n", "starts with 'WEBVTT'"),
        ("bad.vtt", "WEBVTT\n\n00:01 --> 00:02\nhi\n", "bad WebVTT cue timing"),
        ("bad.json", '{"segments": [{"start": 1}]}', "lacks start, end or text"),
        ("bad.srt", b"\xff\xfe\x00garbage", "cannot read"),
    ],
)
def test_unreadable_files_raise_naming_the_file(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(SubtitleFileError, match=message) as info:
        check_file(path, NETFLIX)
    assert str(path) in str(info.value)


# --- CLI ---------------------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """good.en.srt conforms; mixed.en.vtt has 1 violation in 4 cues."""
    _write(tmp_path / "subs" / "good.en.srt", srt((0, 2000, "Hello there."), (2080, 4000, "General Kenobi.")))
    _write(
        tmp_path / "subs" / "season" / "mixed.en.vtt",
        vtt((0, 1000, "One."), (1500, 2500, "Two."), (3000, 6000, LINE_43), (7000, 8000, "Four.")),
    )
    return tmp_path / "subs"


def test_cli_exit_1_below_min_conformance_and_names_the_file(folder):
    result = runner.invoke(app, ["check", str(folder)])
    assert result.exit_code == 1
    assert "mixed.en.vtt" in result.stderr and "75.00%" in result.stderr and "good.en.srt" not in result.stderr
    assert "total" in result.stdout and "83.33%" in result.stdout and "length" in result.stdout
    assert runner.invoke(app, ["check", str(folder), "--min-conformance", "0.75"]).exit_code == 0
    assert runner.invoke(app, ["check", str(folder / "good.en.srt")]).exit_code == 0
    assert runner.invoke(app, ["check", str(folder), "--max-chars", "43"]).exit_code == 0


def test_cli_shows_file_names_with_brackets_verbatim(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _write(Path("Talk [dQw4w9WgXcQ].en.srt"), srt((0, 500, "Hi.")))
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert "[dQw4w9WgXcQ]" in result.stdout and "[dQw4w9WgXcQ]" in result.stderr
    _write(path, "1\n00:00:01,000 --> nonsense\nhi\n")
    assert "[dQw4w9WgXcQ]" in runner.invoke(app, ["check", str(path)]).stderr


def test_cli_json_shape(folder):
    result = runner.invoke(app, ["check", str(folder), "--json", "--fps", "24", "--max-cps", "17"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert set(data) == {"preset", "min_conformance", "passed", "files", "total"}
    assert (data["preset"], data["min_conformance"], data["passed"]) == ("netflix", 0.99, False)
    good, mixed = data["files"]
    assert good["path"].endswith("good.en.srt") and good["language"] == "en"
    assert list(mixed["violations"]) == list(RULES)
    assert (mixed["cues"], mixed["clean"], mixed["conformance"]) == (4, 3, 0.75)
    assert mixed["violations"] == {rule: int(rule == "line-length") for rule in RULES} and mixed["open_gaps"] == 2
    # 80 ms between good's cues is under 2 frames at 24 fps (83 ms).
    assert (good["clean"], good["violations"]["min-gap"]) == (1, 1)
    assert good["limits"] == {
        "max_chars": 42,
        "max_lines": 2,
        "max_cps": 17.0,
        "max_wpm": None,
        "min_duration": 0.833,
        "max_duration": 7.0,
        "min_gap": 0.083,
    }
    assert data["total"]["cues"] == 6 and data["total"]["clean"] == 4 and "limits" not in data["total"]


def test_cli_bbc_preset_and_language_flag(tmp_path):
    path = _write(tmp_path / "x.srt", srt((0, 3000, "a" * 38)))
    assert runner.invoke(app, ["check", str(path)]).exit_code == 0
    assert runner.invoke(app, ["check", str(path), "--preset", "bbc"]).exit_code == 1
    assert runner.invoke(app, ["check", str(path), "--language", "ko"]).exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.srt"], "no such file"),
        (["bad.srt"], "not valid SubRip"),
        (["good.srt", "--preset", "cinema"], "Invalid value for '--preset'"),
        (["good.srt", "--min-conformance", "99"], "in [0, 1], not 99.0"),
        (["good.srt", "--language", "xx"], "--language"),
        (["good.srt", "--fps", "0"], "frame rate"),
    ],
)
def test_cli_exit_2_on_unusable_input(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "good.srt", srt((0, 2000, "Hello.")))
    _write(tmp_path / "bad.srt", "1\n00:00:01,000 --> nonsense\nhi\n")
    result = runner.invoke(app, ["check", *args])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_check_does_not_load_torch(tmp_path):
    path = _write(tmp_path / "a.en.srt", srt((0, 2000, "Hello.")))
    assert not cli_loads_torch("check", str(path))


def test_help_shows_the_preset_values():
    # Typer renders help as rich markup; square brackets there would swallow these.
    result = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "200"})
    assert "42 netflix, 37 bbc" in result.stdout and "default: 25" in result.stdout
