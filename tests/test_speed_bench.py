"""benchmarks/speed.py's own parts: the table, ratios and bars from rows, the faster-whisper peers on real speech,
and the peak-RSS measurement of a child process."""

from __future__ import annotations

import sys

import pytest

from benchmarks.longform import corpus_media, reference
from benchmarks.peers import MODES
from benchmarks.peers import main as peers_main
from benchmarks.speed import (
    FW_BATCHED,
    FW_SEQUENTIAL,
    SUBGEN,
    WHISPER_CLI,
    Row,
    bars,
    last_line,
    parse_systems,
    run_measured,
    srt_outputs,
    table,
)
from subgen.asr.models import resolve
from subgen.evaluate.rates import error_rates
from subgen.subtitles.io import read_text

ROWS = (
    Row(SUBGEN, 300.0, wall=10.0, rss_mb=500.0, wer=0.081, conformance=0.995, outputs=7, inputs=7),
    Row(WHISPER_CLI, 300.0, wall=100.0, rss_mb=1000.0, wer=0.12, conformance=0.5, outputs=6, inputs=7),
    Row(FW_BATCHED, 300.0, wall=12.5, rss_mb=400.0, wer=0.1, conformance=0.25, outputs=7, inputs=7),
    Row(FW_SEQUENTIAL, 300.0, wall=1.5, rss_mb=40.0, error="exit 1: no | such file"),
)


def _cells(markdown: str) -> dict[str, list[str]]:
    """Table rows by system name, each as its cells after the name."""
    rows = [line.strip("|").split(" | ") for line in markdown.splitlines()[2:]]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}


def test_table_figures_and_ratios_to_subgen():
    cells = _cells(table(ROWS))
    assert cells[SUBGEN] == ["10.0", "30.0x", "500", "8.1%", "99.5%", "7/7", "1.00x", "1.00x"]
    assert cells[WHISPER_CLI] == ["100.0", "3.0x", "1000", "12.0%", "50.0%", "6/7", "10.00x", "2.00x"]
    assert cells[FW_BATCHED][-2:] == ["1.25x", "0.80x"]


def test_table_shows_a_failed_system_in_its_row():
    markdown = table(ROWS)
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {FW_SEQUENTIAL} "))
    assert "error: exit 1: no \\| such file" in line
    assert {line.count(" | ") for line in markdown.splitlines()[2:]} == {8}  # same column count in every row


def test_table_without_subgen_has_no_ratios():
    cells = _cells(table(ROWS[1:3]))
    assert cells[WHISPER_CLI][-2:] == ["-", "-"]


def test_bars_pass_fail_and_skip():
    verdicts = bars(ROWS)
    assert verdicts[0] == f"- PASS: subgen wall <= {FW_BATCHED} wall (10.0 s vs 12.5 s)"
    assert verdicts[1] == f"- PASS: subgen >= 8x faster than {WHISPER_CLI} (10.00x)"
    assert verdicts[2] == f"- FAIL: subgen peak RSS <= {FW_BATCHED} peak RSS (500.0 MiB vs 400.0 MiB)"
    without_cli = bars([r for r in ROWS if r.system != WHISPER_CLI])
    assert without_cli[1].startswith("- SKIP: ") and "not measured" in without_cli[1]


def test_systems_option():
    assert parse_systems(f"{SUBGEN}, {FW_BATCHED}") == [SUBGEN, FW_BATCHED]
    assert parse_systems(None)[0] == SUBGEN
    with pytest.raises(ValueError, match="unknown system"):
        parse_systems("subgen,whisperx")


def test_outputs_matched_by_stem_with_or_without_language(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("a/talk.en.srt", "clip.srt", "clip.en.vtt"):
        (tmp_path / name).write_text("", encoding="utf-8")
    assert srt_outputs(tmp_path) == {"talk": tmp_path / "a/talk.en.srt", "clip": tmp_path / "clip.srt"}


@pytest.mark.parametrize("mode", MODES)
def test_peer_runner_writes_the_words(corpus, tmp_path, mode):
    stem = "en_jfk_inaugural_excerpt"
    media = corpus_media(corpus, stem)
    assert peers_main([mode, "--model-dir", str(resolve("tiny.en").path), "--out", str(tmp_path), str(media)]) == 0
    srt = tmp_path / f"{stem}.srt"
    assert "-->" in srt.read_text(encoding="utf-8")
    assert error_rates([reference(corpus, stem)], [read_text(srt)], "en").wer < 0.3


def test_peak_rss_of_a_child_that_allocates_200_mib(tmp_path):
    touch_200_mib = "data = b'\\x01' * (200 << 20)"
    measured = run_measured([sys.executable, "-c", touch_200_mib], tmp_path / "log")
    assert measured.returncode == 0
    assert measured.rss_mb >= 200
    assert measured.wall > 0


def test_failed_child_exit_code_and_message(tmp_path):
    log = tmp_path / "log"
    fail = "import sys; print('│ No such option: --engine │'); sys.exit(2)"
    assert run_measured([sys.executable, "-c", fail], log).returncode == 2
    assert last_line(log) == "No such option: --engine"
