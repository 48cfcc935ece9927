"""Batch orchestration with the fake engine: skip, overwrite, isolation, mirroring, engine loading."""

from __future__ import annotations

import itertools
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from subgen.asr.engines.fake import FakeEngine
from subgen.audio.media import extract_audio
from subgen.core.errors import ModelNotAvailable
from subgen.core.events import AudioProgress, ItemFinished, ItemStarted
from subgen.core.options import OutputOptions, RunOptions, TranscribeOptions
from subgen.core.paths import LANGUAGES_FILE
from subgen.core.results import ItemStatus
from subgen.pipeline.batch import Batch
from subgen.sources.inputs import expand_inputs


@pytest.fixture
def folder(speech_clip: Path, tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    for rel in ("a/clip.mp4", "b/clip.mp4", "c.mp4"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(speech_clip, root / rel)
    return root


def _batch(engine: FakeEngine, loads: list[int] | None = None, **output) -> Batch:
    def factory() -> FakeEngine:
        if loads is not None:
            loads.append(1)
        return engine

    return Batch(RunOptions(output=OutputOptions(**output)), factory)


def test_outputs_next_to_sources_then_rerun_skips_without_loading(folder):
    engine, loads = FakeEngine(), []
    results = _batch(engine, loads, formats=("srt", "json")).run(expand_inputs([str(folder)]))
    assert [r.status for r in results] == [ItemStatus.OK, ItemStatus.OK, ItemStatus.OK]
    assert (folder / "a" / "clip.en.srt").is_file() and (folder / "c.en.json").is_file()
    assert loads == [1], "the model loads once per batch"
    again, loads2 = FakeEngine(), []
    results = _batch(again, loads2, formats=("srt", "json")).run(expand_inputs([str(folder)]))
    assert [r.status for r in results] == [ItemStatus.SKIPPED] * 3
    assert loads2 == [] and again.batches == [], "a finished batch reruns without loading a model"


def test_overwrite_and_new_format_redo_items(folder):
    _batch(FakeEngine(), formats=("srt",)).run(expand_inputs([str(folder)]))
    engine = FakeEngine()
    results = _batch(engine, formats=("srt", "vtt")).run(expand_inputs([str(folder / "c.mp4")]))
    assert results[0].status == ItemStatus.OK, "a missing requested format means the item is not finished"
    engine = FakeEngine()
    results = _batch(engine, formats=("srt",), overwrite=True).run(expand_inputs([str(folder / "c.mp4")]))
    assert results[0].status == ItemStatus.OK and engine.batches == [1], "one item, one window, one batch"


def test_only_subtitles_in_the_detected_language_count_as_finished(folder):
    """A ``c.de.srt`` from elsewhere does not stop ``c.en.srt`` from being made (the language is detected)."""
    clip = str(folder / "c.mp4")
    (folder / "c.de.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHallo\n", encoding="utf-8")
    results = _batch(FakeEngine()).run(expand_inputs([clip]))
    assert results[0].status == ItemStatus.OK and (folder / "c.en.srt").is_file()
    assert (folder / "c.de.srt").read_text(encoding="utf-8").endswith("Hallo\n"), "the foreign file is untouched"
    loads: list[int] = []
    assert _batch(FakeEngine(), loads).run(expand_inputs([clip]))[0].status == ItemStatus.SKIPPED
    assert loads == [], "subgen recorded the language it wrote: the rerun needs no model"


def test_outputs_without_a_record_are_verified_by_detection_not_decoded_again(folder):
    clip = str(folder / "c.mp4")
    _batch(FakeEngine()).run(expand_inputs([clip]))
    (folder / LANGUAGES_FILE).unlink()  # as left by a version of subgen that kept no record
    engine, loads = FakeEngine(), []
    assert _batch(engine, loads).run(expand_inputs([clip]))[0].status == ItemStatus.SKIPPED
    assert loads == [1] and engine.batches == [], "the language was detected, nothing decoded"
    assert _batch(FakeEngine(), loads).run(expand_inputs([clip]))[0].status == ItemStatus.SKIPPED
    assert loads == [1], "and recorded, so the next rerun loads nothing"
    german = FakeEngine(language="de")
    assert _batch(german).run(expand_inputs([clip]))[0].status == ItemStatus.SKIPPED, "recorded: no detection"
    forced = Batch(RunOptions(transcribe=TranscribeOptions(language="de")), lambda: german)
    assert forced.run(expand_inputs([clip]))[0].status == ItemStatus.OK and (folder / "c.de.srt").is_file()


def test_two_files_with_one_stem_do_not_overwrite_each_other(folder):
    (folder / "c.wav").write_bytes((folder / "c.mp4").read_bytes())
    results = _batch(FakeEngine()).run(expand_inputs([str(folder / "c.mp4"), str(folder / "c.wav")]))
    assert [r.status for r in results] == [ItemStatus.OK, ItemStatus.FAILED]
    assert "c.wav: its subtitles would be named like those of" in results[1].error and "c.mp4" in results[1].error
    assert results[0].outputs == (folder / "c.en.srt",)


def test_one_failure_does_not_stop_the_batch(folder):
    engine = FakeEngine(fail_calls=frozenset({0}), batch_size=1)
    results = _batch(engine).run(expand_inputs([str(folder / "c.mp4"), str(folder / "missing.mp4"), str(folder)]))
    assert [r.status for r in results] == [ItemStatus.FAILED, ItemStatus.FAILED, ItemStatus.OK, ItemStatus.OK]
    assert "fake failure" in results[0].error and "missing.mp4" in results[1].error
    assert not (folder / "c.en.srt").exists()


def test_without_vad_a_failing_item_does_not_stop_the_batch(folder):
    engine = FakeEngine(fail_on=frozenset({"c.mp4"}))
    options = RunOptions(transcribe=TranscribeOptions(vad=False))
    results = Batch(options, lambda: engine).run(expand_inputs([str(folder / "c.mp4"), str(folder)]))
    assert [r.status for r in results] == [ItemStatus.FAILED, ItemStatus.OK, ItemStatus.OK]
    assert "fake failure" in results[0].error and engine.calls == ["c.mp4", "clip.mp4", "clip.mp4"]


def test_output_dir_mirrors_the_input_tree(folder, tmp_path):
    out = tmp_path / "out"
    _batch(FakeEngine(), output_dir=out).run(expand_inputs([str(folder)]))
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.srt")) == [
        "a/clip.en.srt",
        "b/clip.en.srt",
        "c.en.srt",
    ]
    assert not list(folder.rglob("*.srt"))


def test_engine_load_failure_fails_items_with_the_reason(folder):
    calls = []

    def broken() -> FakeEngine:
        calls.append(1)
        raise ModelNotAvailable("model 'x' could not be downloaded; use --model base")

    batch = Batch(RunOptions(), broken)
    results = batch.run(expand_inputs([str(folder)]))
    assert [r.status for r in results] == [ItemStatus.FAILED] * 3
    assert all("--model base" in r.error for r in results)
    assert calls == [1], "a failed load is not retried for every item"


def test_progress_events_and_timings(folder):
    events = []
    batch = replace(_batch(FakeEngine(seconds_per_segment=0.5)), on_event=events.append)
    results = batch.run(expand_inputs([str(folder / "c.mp4")]))
    kinds = [type(e) for e in events]
    assert kinds[0] is ItemStarted and kinds[-1] is ItemFinished and AudioProgress in kinds
    progress = [e for e in events if isinstance(e, AudioProgress)]
    assert progress[-1].done == pytest.approx(progress[-1].total)
    assert results[0].audio_seconds == pytest.approx(extract_audio(folder / "c.mp4").duration, abs=0.01)
    assert results[0].realtime_factor and results[0].realtime_factor > 0


@pytest.mark.parametrize(("container", "gap"), [("clip.mp4", 2 / 30), ("clip.wav", 2 / 25)])
def test_cue_gaps_are_two_frames_of_the_video(tmp_path: Path, container: str, gap: float):
    import pysrt
    from conftest import ffmpeg

    media = tmp_path / container
    video = ["-f", "lavfi", "-i", "color=c=black:s=64x36:r=30"] if container.endswith(".mp4") else []
    ffmpeg(*video, "-f", "lavfi", "-i", "sine=frequency=300:duration=20", "-t", "20", "-shortest", str(media))
    options = RunOptions(transcribe=TranscribeOptions(vad=False))
    results = Batch(options, lambda: FakeEngine(seconds_per_segment=4.0)).run(expand_inputs([str(media)]))
    assert results[0].status == ItemStatus.OK
    cues = pysrt.open(str(tmp_path / f"{media.stem}.en.srt"))
    assert len(cues) >= 3
    gaps = [(b.start.ordinal - a.end.ordinal) / 1000 for a, b in itertools.pairwise(cues)]
    assert gaps and all(g == pytest.approx(gap, abs=0.0015) for g in gaps), gaps
