"""End to end with tiny.en: no cues where nobody speaks, and VAD costs no accuracy on long-form media."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pysrt
import pytest
from typer.testing import CliRunner

from benchmarks.longform import LongForm, nonspeech_video
from subgen.cli import app
from subgen.core.events import AudioProgress, Event
from subgen.core.options import OutputOptions, RunOptions, TranscribeOptions
from subgen.core.results import ItemStatus
from subgen.evaluate.rates import error_rates
from subgen.pipeline.batch import Batch
from subgen.sources.inputs import expand_inputs

MAX_EXTEND = 0.5
"""How far the cue rules may hold a cue on screen after its last word."""


@pytest.fixture(scope="module")
def mixed_nonspeech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s in which nobody speaks: 15 s each of silence, pink noise, brown noise and a 440 Hz tone."""
    return nonspeech_video(tmp_path_factory.mktemp("nonspeech") / "mix.mp4", "mix", 60.0)


def _options(out: Path, *, vad: bool, formats: tuple[str, ...] = ("srt",)) -> RunOptions:
    return RunOptions(
        transcribe=TranscribeOptions(model="tiny.en", vad=vad),
        output=OutputOptions(formats=formats, output_dir=out, overwrite=True),
    )


def _cues(srt: Path) -> list[pysrt.SubRipItem]:
    return list(pysrt.open(str(srt), encoding="utf-8"))


def test_cli_defaults_give_no_cues_on_a_minute_of_non_speech(mixed_nonspeech, tmp_path):
    result = CliRunner().invoke(app, ["-q", "run", str(mixed_nonspeech), "--model", "tiny.en", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert _cues(tmp_path / "mix.en.srt") == []


def test_no_speech_means_no_model_load_and_progress_still_ends_at_the_duration(mixed_nonspeech, tmp_path):
    def no_engine():
        raise AssertionError("no model may load for a file without speech")

    events: list[Event] = []
    [result] = Batch(_options(tmp_path, vad=True), no_engine, events.append).run(expand_inputs([str(mixed_nonspeech)]))
    assert result.status == ItemStatus.OK, result.error
    progress = [e for e in events if isinstance(e, AudioProgress)]
    assert progress and progress[-1].done == pytest.approx(progress[-1].total, abs=0.05)


def test_without_vad_suppression_removes_what_tiny_en_hears_in_silence(tiny_engine, tmp_path):
    video = nonspeech_video(tmp_path / "silence.mp4", "silence", 30.0)
    [result] = Batch(_options(tmp_path, vad=False), lambda: tiny_engine).run(expand_inputs([str(video)]))
    assert result.status == ItemStatus.OK
    assert _cues(tmp_path / "silence.en.srt") == []


@dataclass(frozen=True)
class Run:
    """One transcription of the long-form file."""

    srt: Path
    transcript: dict
    progress: list[AudioProgress]


@pytest.fixture(scope="module")
def longform_runs(longform: LongForm, tiny_engine, tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Run]:
    """The long-form file transcribed once with VAD and once without."""
    runs = {}
    for vad in (True, False):
        out = tmp_path_factory.mktemp(f"longform-vad-{vad}")
        events: list[Event] = []
        batch = Batch(_options(out, vad=vad, formats=("srt", "json")), lambda: tiny_engine, events.append)
        [result] = batch.run(expand_inputs([str(longform.video)]))
        assert result.status == ItemStatus.OK, result.error
        data = json.loads((out / "longform.en.json").read_text(encoding="utf-8"))
        progress = [e for e in events if isinstance(e, AudioProgress)]
        runs[vad] = Run(out / "longform.en.srt", data, progress)
    return runs


def _inside(t: float, stretches: tuple[tuple[float, float], ...]) -> bool:
    return any(a <= t < b for a, b in stretches)


def test_no_cue_starts_and_no_word_lies_in_the_non_speech_stretch(longform, longform_runs):
    run = longform_runs[True]
    starts = [c.start.ordinal / 1000 for c in _cues(run.srt)]
    assert len(starts) >= len(longform.utterances), "every utterance has cues (nothing written would pass below)"
    assert not [s for s in starts if _inside(s, longform.nonspeech)]
    words = [w for s in run.transcript["segments"] for w in s["words"]]
    heard = [(w["text"], w["start"]) for w in words if _inside(w["start"], longform.nonspeech)]
    assert heard == []
    ends = [c.end.ordinal / 1000 for c in _cues(run.srt)]
    spill = [e - a for e in ends for a, b in longform.nonspeech if a < e <= b]
    assert all(x <= MAX_EXTEND + 0.01 for x in spill), spill


def test_without_vad_suppression_keeps_the_stretch_clean(longform, longform_runs):
    """Measured: tiny.en alone writes "Music" over the pink noise; the suppressed output has no cue there."""
    starts = [c.start.ordinal / 1000 for c in _cues(longform_runs[False].srt)]
    assert len(starts) >= len(longform.utterances), "the speech around the stretch was subtitled"
    assert not [s for s in starts if _inside(s, longform.nonspeech)]


def test_vad_drops_no_speech(longform, longform_runs):
    with_vad = error_rates([longform.text], [" ".join(c.text for c in _cues(longform_runs[True].srt))])
    without = error_rates([longform.text], [" ".join(c.text for c in _cues(longform_runs[False].srt))])
    assert with_vad.wer <= without.wer + 0.005, (with_vad, without)
    cues = _cues(longform_runs[True].srt)
    for u in longform.utterances:
        assert any(c.start.ordinal / 1000 < u.end and c.end.ordinal / 1000 > u.start for c in cues), u.stem


def test_progress_with_vad_reaches_the_clip_duration(longform_runs):
    done = [e.done for e in longform_runs[True].progress]
    assert done == sorted(done)
    assert done[-1] == pytest.approx(longform_runs[True].progress[-1].total, abs=0.05)


def test_defaults_meet_the_readability_and_timing_bars(longform, longform_runs):
    """The issue's bars on the long-form file: >= 99% netflix conformance, median cue-start error <= 0.2 s."""
    from subgen.core.options import PRESETS
    from subgen.evaluate.timing import timing_errors
    from subgen.subtitles.check import check_file
    from subgen.subtitles.io import read_cues

    srt = longform_runs[True].srt
    checked = check_file(srt, PRESETS["netflix"])
    assert checked.result.conformance >= 0.99, checked.result.violations
    timing = timing_errors(read_cues(longform.reference_srt), read_cues(srt))
    assert timing.missed == 0
    assert timing.start_error(0.5) <= 0.2, timing.start_errors
