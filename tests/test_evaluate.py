"""subgen eval: reading references/hypotheses in every format, pairing by stem, WER/CER with counts, cue timing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cli_loads_torch
from typer.testing import CliRunner

from subgen.cli import app
from subgen.core.errors import EvaluationError, SubtitleFileError
from subgen.core.types import Cue
from subgen.evaluate.rates import error_rates
from subgen.evaluate.score import FileScore, corpus_rates, corpus_timing, match_key, score
from subgen.evaluate.timing import cues_in_gaps, percentile, pool_timing, timing_errors
from subgen.subtitles.io import read_cues, read_text

SRT = "1\n00:00:00,000 --> 00:00:01,500\nThe cat sat\non a mat mat\n\n"
VTT = "WEBVTT\n\nNOTE a comment\n\n00:00.000 --> 00:01.500\nThe cat sat on a mat <i>mat</i> &amp;\n"


def cue(start: float, end: float, text: str) -> Cue:
    """A cue whose lines are ``text`` split at newlines."""
    return Cue(start, end, tuple(text.split("\n")))



def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_hand_computed_counts():
    rates = error_rates(["The cat sat on the mat."], ["the cat sat on a mat mat"], "en")
    assert (rates.substitutions, rates.deletions, rates.insertions, rates.reference_words) == (1, 0, 1, 6)
    assert rates.wer == pytest.approx(2 / 6)


def test_readers_strip_timings_markup_and_numbers(tmp_path):
    assert read_text(_write(tmp_path / "a.srt", SRT)).split() == ["The", "cat", "sat", "on", "a", "mat", "mat"]
    assert read_text(_write(tmp_path / "a.vtt", VTT)).split() == ["The", "cat", "sat", "on", "a", "mat", "mat", "&"]
    doc = {"segments": [{"text": "The cat"}, {"text": "sat."}]}
    assert read_text(_write(tmp_path / "a.json", json.dumps(doc))) == "The cat sat."


@pytest.mark.parametrize(("name", "key", "lang"), [("talk.en.srt", "talk", "en"), ("talk.v2.txt", "talk.v2", None)])
def test_match_key_drops_language_suffix(name, key, lang):
    assert match_key(Path(name)) == (key, lang)


def test_folders_pair_by_stem_and_total_is_weighted(tmp_path):
    _write(tmp_path / "ref" / "one.txt", "the cat sat on the mat")
    _write(tmp_path / "ref" / "two.txt", "hello world")
    _write(tmp_path / "hyp" / "one.en.srt", SRT)
    _write(tmp_path / "hyp" / "sub" / "two.en.txt", "hello")
    _write(tmp_path / "hyp" / "unmatched.en.txt", "ignored")
    scores = score(tmp_path / "ref", tmp_path / "hyp")
    assert [(s.key, s.language) for s in scores] == [("one", "en"), ("two", "en")]
    total = corpus_rates(scores)
    assert total.reference_words == 8 and total.wer == pytest.approx(3 / 8)


def test_bad_inputs_raise_evaluation_error(tmp_path):
    with pytest.raises(EvaluationError, match="no file matches"):
        score(_write(tmp_path / "r" / "a.txt", "x").parent, _write(tmp_path / "h" / "b.txt", "x").parent)
    with pytest.raises(SubtitleFileError, match="segments"):
        read_text(_write(tmp_path / "x.json", "[1, 2]"))


def test_cli_eval_json_and_table(tmp_path):
    ref = _write(tmp_path / "ref.txt", "Das ist ein Test")
    hyp = _write(tmp_path / "clip.de.srt", "1\n00:00:00,000 --> 00:00:01,000\ndas ist kein test\n")
    result = CliRunner().invoke(app, ["eval", str(ref), str(hyp), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["files"][0]["language"] == "de" and data["total"]["wer"] == 0.25
    table = CliRunner().invoke(app, ["eval", str(ref), str(hyp)])
    assert "0.250" in table.stdout and "total" in table.stdout
    assert CliRunner().invoke(app, ["eval", str(ref), str(tmp_path / "nope")]).exit_code == 2


def test_eval_does_not_load_torch(tmp_path):
    ref = _write(tmp_path / "r.txt", "hello there")
    hyp = _write(tmp_path / "r.en.txt", "hello there")
    assert not cli_loads_torch("eval", str(ref), str(hyp))


def test_corpus_cer_is_weighted_by_reference_characters():
    scores = [
        error_rates(["hello world"], ["hello word"]),
        error_rates(["good"], ["good"]),
    ]
    assert [(r.cer, r.reference_chars) for r in scores] == [(pytest.approx(1 / 11), 11), (0.0, 4)]
    files = [FileScore(str(n), Path("r"), Path("h"), "en", r) for n, r in enumerate(scores)]
    assert corpus_rates(files).cer == pytest.approx(1 / 15)


# --- cue timing -------------------------------------------------------------------------------------------

# Reference cues A-E; the gaps no reference covers are 0-1 s, 3-3.5 s, 6-20 s (14 s), 22-26 s (4 s), 27-40 s (13 s)
# and after 41 s up to the last hypothesis cue (51 s, 10 s).
REFERENCE = [
    cue(1.0, 3.0, "A"),
    cue(3.5, 6.0, "B"),
    cue(20.0, 22.0, "C"),
    cue(26.0, 27.0, "D"),
    cue(40.0, 41.0, "E"),
]
HYPOTHESIS = [
    cue(1.2, 2.0, "a1"),  # A: start +0.2, end +0.1 (with a2)
    cue(2.0, 3.1, "a2"),
    cue(3.4, 5.5, "b"),  # B: start -0.1, end -0.5
    cue(10.0, 11.0, "in a 14 s gap"),
    cue(19.7, 22.3, "c"),  # C: start -0.3, end +0.3
    cue(23.0, 24.0, "in a 4 s gap"),  # D is missed: this ends before it, nothing else reaches it
    cue(39.0, 41.4, "e"),  # E: start -1.0, end +0.4; starts in a gap but does not lie inside it
    cue(50.0, 51.0, "in the trailing gap"),
]


def test_timing_errors_hand_computed():
    t = timing_errors(REFERENCE, HYPOTHESIS)
    assert t.start_errors == pytest.approx((0.2, -0.1, -0.3, -1.0))
    assert t.end_errors == pytest.approx((0.1, -0.5, 0.3, 0.4))
    assert (t.reference_cues, t.matched, t.missed, t.hypothesis_cues, t.cues_in_gaps) == (5, 4, 1, 8, 2)
    # |start| sorted: 0.1 0.2 0.3 1.0; |end| sorted: 0.1 0.3 0.4 0.5; p90 sits at rank 2.7.
    assert t.start_error(0.5) == pytest.approx(0.25) and t.start_error(0.9) == pytest.approx(0.79)
    assert t.end_error(0.5) == pytest.approx(0.35) and t.end_error(0.9) == pytest.approx(0.47)


def test_touching_is_not_overlapping_and_empty_cues_do_not_count():
    t = timing_errors([cue(5.0, 6.0, "ref"), cue(7.0, 8.0, " ")], [cue(4.0, 5.0, "before")])
    assert (t.missed, t.matched, t.reference_cues) == (1, 0, 1)
    assert t.start_error(0.5) is None and t.end_error(0.9) is None


@pytest.mark.parametrize(("gap_end", "counted"), [(5.0, 0), (5.001, 1), (12.0, 1)])
def test_cues_in_gaps_counts_gaps_longer_than_five_seconds(gap_end, counted):
    reference = [cue(0.0, 1.0, "x"), cue(1.0 + gap_end, 20.0, "y")]
    assert cues_in_gaps(reference, [cue(2.0, 3.0, "z")]) == counted


def test_leading_gap_starts_at_zero():
    assert cues_in_gaps([cue(10.0, 11.0, "x")], [cue(6.0, 7.0, "early")]) == 1
    assert cues_in_gaps([cue(4.0, 11.0, "x")], [cue(1.0, 2.0, "early")]) == 0


def test_percentile_interpolates_between_ranks():
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.9) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([float(n) for n in range(1, 11)], 0.9) == pytest.approx(9.1)


def test_pooled_totals_take_the_median_over_all_cues():
    one = timing_errors([cue(0.0, 1.0, "a")], [cue(0.1, 1.0, "a")])
    two = timing_errors(
        [cue(0.0, 1.0, "a"), cue(2.0, 3.0, "b"), cue(4.0, 5.0, "c")],
        [cue(0.5, 1.0, "a"), cue(2.5, 3.0, "b"), cue(4.5, 5.0, "c")],
    )
    pooled = pool_timing([one, two])
    # The median of the medians would be 0.3; over all four cues it is 0.5.
    assert pooled.start_error(0.5) == pytest.approx(0.5) and pooled.reference_cues == 4
    assert pool_timing([]) is None


def _srt(cues: list[Cue]) -> str:
    def stamp(seconds: float) -> str:
        ms = round(seconds * 1000)
        return f"00:{ms // 60000:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "".join(f"{n}\n{stamp(c.start)} --> {stamp(c.end)}\n{c.text}\n\n" for n, c in enumerate(cues, 1))


def test_timed_readers_agree_across_formats(tmp_path):
    srt = _write(tmp_path / "a.srt", _srt(HYPOTHESIS))
    vtt = _write(tmp_path / "a.vtt", "WEBVTT\n\n" + _srt(HYPOTHESIS).replace(",", "."))
    cues = {"cues": [{"start": c.start, "end": c.end, "lines": [c.text]} for c in HYPOTHESIS]}
    segments = {"segments": [{"start": c.start, "end": c.end, "text": f" {c.text}"} for c in HYPOTHESIS]}
    assert read_cues(srt) == read_cues(vtt) == tuple(HYPOTHESIS)
    assert read_cues(_write(tmp_path / "c.json", json.dumps({**segments, **cues}))) == tuple(HYPOTHESIS)
    assert read_cues(_write(tmp_path / "s.json", json.dumps(segments))) == tuple(HYPOTHESIS)
    vtt_extras = "WEBVTT\n\nNOTE x --> y\n\nid-1\n01:00:00.500 --> 01:00:01.000 line:0\n<b>Hi</b> &lt;3\nthere\n"
    assert read_cues(_write(tmp_path / "b.vtt", vtt_extras)) == (cue(3600.5, 3601.0, "Hi <3\nthere"),)
    with pytest.raises(SubtitleFileError, match="no cue times"):
        read_cues(_write(tmp_path / "t.txt", "text"))


def test_score_adds_timing_only_when_both_files_have_times(tmp_path):
    ref = _write(tmp_path / "ref" / "talk.srt", _srt(REFERENCE))
    _write(tmp_path / "ref" / "plain.txt", "a b")
    _write(tmp_path / "hyp" / "talk.en.vtt", "WEBVTT\n\n" + _srt(HYPOTHESIS).replace(",", "."))
    _write(tmp_path / "hyp" / "plain.en.srt", _srt([cue(0.0, 1.0, "a b")]))
    _write(tmp_path / "hyp2" / "talk.en.txt", "A B C D E")
    plain, talk = score(tmp_path / "ref", tmp_path / "hyp")
    assert plain.timing is None and talk.timing == timing_errors(REFERENCE, HYPOTHESIS)
    assert corpus_timing([plain, talk]) == talk.timing
    assert score(ref, tmp_path / "hyp2" / "talk.en.txt")[0].timing is None
    assert corpus_timing(score(ref, tmp_path / "hyp2" / "talk.en.txt")) is None


def test_cli_eval_timing_table_and_json(tmp_path):
    ref = _write(tmp_path / "talk.srt", _srt(REFERENCE))
    hyp = _write(tmp_path / "talk.en.srt", _srt(HYPOTHESIS))
    data = json.loads(CliRunner().invoke(app, ["eval", str(ref), str(hyp), "--json"]).stdout)
    expected = {
        "reference_cues": 5,
        "matched": 4,
        "missed": 1,
        "start_error_median": 0.25,
        "start_error_p90": 0.79,
        "end_error_median": 0.35,
        "end_error_p90": 0.47,
        "hypothesis_cues": 8,
        "cues_in_gaps": 2,
    }
    assert data["files"][0]["timing"] == expected and data["total"]["timing"] == expected
    table = CliRunner().invoke(app, ["eval", str(ref), str(hyp)])
    assert table.exit_code == 0
    timing_rows = table.stdout.split("cue timing")[1].splitlines()
    cells = [[c.strip() for c in row.split("│")[1:-1]] for row in timing_rows]
    assert ["total", "5", "1", "0.25", "0.79", "0.35", "0.47", "2"] in cells
    text_only = CliRunner().invoke(app, ["eval", str(ref), str(_write(tmp_path / "talk.en.txt", "A"))])
    assert "cue timing" not in text_only.stdout
    assert (
        json.loads(CliRunner().invoke(app, ["eval", str(ref), str(tmp_path / "talk.en.txt"), "--json"]).stdout)[
            "total"
        ]["timing"]
        is None
    )


def test_a_cue_lingering_into_the_next_utterance_counts_for_its_own():
    reference = [cue(0.0, 4.0, "first utterance"), cue(4.4, 8.0, "second utterance")]
    # The first cue stays up 0.5 s past its words, 0.1 s into the second utterance; the second starts 0.3 s late.
    hypothesis = [cue(0.1, 4.5, "first"), cue(4.7, 8.1, "second")]
    t = timing_errors(reference, hypothesis)
    assert t.start_errors == pytest.approx((0.1, 0.3)) and t.end_errors == pytest.approx((0.5, 0.1))
