"""subgen eval: reading references/hypotheses in every format, pairing by stem, WER/CER with counts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subgen.cli import app
from subgen.errors import EvaluationError
from subgen.evaluate import corpus_rates, error_rates, match_key, read_text, score

SRT = "1\n00:00:00,000 --> 00:00:01,500\nThe cat sat\non a mat mat\n\n"
VTT = "WEBVTT\n\nNOTE a comment\n\n00:00.000 --> 00:01.500\nThe cat sat on a mat <i>mat</i> &amp;\n"


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
    with pytest.raises(EvaluationError, match="segments"):
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
    code = (
        f"import sys; from typer.testing import CliRunner; from subgen.cli import app; "
        f"r = CliRunner().invoke(app, ['eval', {str(ref)!r}, {str(hyp)!r}]); "
        f"assert r.exit_code == 0, r.output; print('torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "False", proc.stderr
