"""Cross-file batching and prefetch: short files share decoder batches while the next ones are prepared."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from subgen.asr.engines.fake import FakeEngine
from subgen.audio.media import SAMPLE_RATE
from subgen.core.options import OutputOptions, RunOptions, TranscribeOptions
from subgen.core.results import ItemStatus
from subgen.pipeline import batch as batch_module
from subgen.pipeline.batch import Batch, Prefetcher
from subgen.sources.inputs import expand_inputs


@pytest.fixture
def clips(speech_clip: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(10):
        shutil.copy(speech_clip, folder / f"clip{i:02d}.mp4")
    return folder


def _run(folder: Path, engine: FakeEngine, **transcribe) -> list:
    options = RunOptions(transcribe=TranscribeOptions(**transcribe), output=OutputOptions(formats=("srt",)))
    return Batch(options, lambda: engine).run(expand_inputs([str(folder)]))


def test_short_files_share_full_batches(clips):
    engine = FakeEngine(batch_size=4)
    results = _run(clips, engine)
    assert [r.status for r in results] == [ItemStatus.OK] * 10
    assert engine.batches == [4, 4, 2], "ten one-window files fill batches of four, not ten batches of one"
    assert [Path(r.source).name for r in results] == sorted(p.name for p in clips.iterdir() if p.suffix == ".mp4")
    assert all((clips / f"clip{i:02d}.en.srt").read_text(encoding="utf-8").strip() for i in range(10))


def test_the_window_option_bounds_every_decoded_window(longform, tmp_path):
    class Recording(FakeEngine):
        def decode_windows(self, windows, options, language):
            lengths.append([len(w) / SAMPLE_RATE for w in windows])
            return super().decode_windows(windows, options, language)

    decoded = {}
    for window in (8.0, 29.0):
        folder = tmp_path / f"w{window:g}"
        folder.mkdir()
        shutil.copy(longform.video, folder / "long.mp4")
        lengths: list[list[float]] = []
        [result] = _run(folder, Recording(batch_size=4), window=window)
        assert result.status == ItemStatus.OK
        decoded[window] = [x for batch in lengths for x in batch]
        assert decoded[window] and max(decoded[window]) <= window + 1e-6
    assert max(decoded[29.0]) > 8.0 and len(decoded[29.0]) < len(decoded[8.0]), "longer windows: fewer of them"


def test_windows_the_encoder_hears_at_different_lengths_never_share_a_batch(longform, tmp_path):
    engine = FakeEngine(batch_size=4, encoder_step=5.0)  # windows grouped by 5 s steps of their length
    lengths: list[list[float]] = []
    decode = engine.decode_windows

    def recording(windows, *args):
        lengths.append([len(w) / SAMPLE_RATE for w in windows])
        return decode(windows, *args)

    engine.decode_windows = recording
    shutil.copy(longform.video, tmp_path / "long.mp4")
    [result] = _run(tmp_path, engine)
    assert result.status == ItemStatus.OK
    groups = [{engine.encoder_seconds(x) for x in batch} for batch in lengths]
    assert len(groups) > 1 and all(len(g) == 1 for g in groups), lengths
    assert len({g.pop() for g in groups}) > 1, "the file has windows of several groups"


@pytest.fixture(scope="module")
def fw_engine():
    from subgen.asr.engines.faster_whisper import FasterWhisperEngine
    from subgen.asr.models import resolve

    return FasterWhisperEngine(resolve("tiny.en"), "cpu")


def test_a_file_decodes_the_same_alone_and_batched_with_longer_windows(corpus, fw_engine, tmp_path):
    """Real tiny.en: a 1 s card clip batched behind the windows of a 33 s recording gives what it gives alone."""
    from conftest import make_video

    def words(folder: Path) -> list[tuple[str, float, float]]:
        options = RunOptions(output=OutputOptions(formats=("json",)))
        results = Batch(options, lambda: fw_engine).run(expand_inputs([str(folder)]))
        assert [r.status for r in results] == [ItemStatus.OK] * len(results)
        data = json.loads((folder / "b-card.en.json").read_text(encoding="utf-8"))
        return [(w["text"], w["start"], w["end"]) for s in data["segments"] for w in s["words"]]

    together, alone = tmp_path / "together", tmp_path / "alone"
    make_video(corpus / "en_osr_us_000_0011_harvard_list02.wav", together / "a-long.mp4")
    make_video(corpus / "en_pocketsphinx_cards_001.wav", together / "b-card.mp4")
    alone.mkdir()
    shutil.copy(together / "b-card.mp4", alone / "b-card.mp4")
    assert words(together) == words(alone) != []


def test_a_failed_batch_fails_only_its_files(clips):
    engine = FakeEngine(batch_size=3, fail_calls=frozenset({1}))
    results = _run(clips, engine)
    assert [r.status for r in results] == [ItemStatus.OK] * 3 + [ItemStatus.FAILED] * 3 + [ItemStatus.OK] * 4
    assert all("fake failure in batch 1" in r.error for r in results[3:6])
    assert not (clips / "clip04.en.srt").exists() and (clips / "clip06.en.srt").exists()


def test_passes_with_different_options_never_share_a_batch(clips):
    engine = FakeEngine(batch_size=8)
    options = RunOptions(
        transcribe=TranscribeOptions(language="de"), output=OutputOptions(formats=("srt",)), tracks=("original", "en")
    )
    results = Batch(options, lambda: engine).run(expand_inputs([str(clips / "clip00.mp4"), str(clips / "clip01.mp4")]))
    assert [r.status for r in results] == [ItemStatus.OK, ItemStatus.OK]
    assert engine.batches == [2, 2], "transcribe and translate windows go in separate batches"
    assert (clips / "clip00.de.srt").is_file() and (clips / "clip01.en.srt").is_file()


def test_the_next_files_are_prepared_while_the_engine_decodes(clips, monkeypatch):
    log: list[tuple[str, int, float]] = []

    class SlowEngine(FakeEngine):
        def decode_windows(self, windows, options, language):
            log.append(("decode-start", len(self.batches), time.monotonic()))
            time.sleep(0.4)
            out = super().decode_windows(windows, options, language)
            log.append(("decode-end", len(self.batches) - 1, time.monotonic()))
            return out

    options = RunOptions(output=OutputOptions(formats=("srt",)))
    batch = Batch(options, lambda: engine)
    engine = SlowEngine(batch_size=1)
    prepare = batch_module.prepare

    def recording(index, item, context, scratch):
        prepared = prepare(index, item, context, scratch)
        log.append(("prepared", index, time.monotonic()))
        return prepared

    monkeypatch.setattr(batch_module, "prepare", recording)
    results = batch.run(expand_inputs([str(p) for p in sorted(clips.glob("clip0[0-3].mp4"))]))
    assert [r.status for r in results] == [ItemStatus.OK] * 4
    prepared = {i: t for kind, i, t in log if kind == "prepared"}
    decoded = {i: t for kind, i, t in log if kind == "decode-end"}
    assert prepared[1] < decoded[0] and prepared[2] < decoded[1], "extraction overlaps decoding"
    ahead = max(sum(1 for i, t in prepared.items() if t < decoded[k]) - (k + 1) for k in decoded)
    assert ahead <= 3, "the prefetch queue is bounded"


def test_prefetcher_keeps_order_bounds_lookahead_and_reraises():
    started: list[int] = []

    def work(i: int) -> int:
        started.append(i)
        if i == 7:
            raise ValueError("boom")
        return i * i

    with Prefetcher(list(range(10)), work, depth=2) as results:
        got = []
        with pytest.raises(ValueError, match="boom"):
            for value in results:
                time.sleep(0.05)
                assert len(started) <= len(got) + 4, "never more than depth + 2 items ahead"
                got.append(value)
    assert got == [i * i for i in range(7)]


def test_prefetcher_stops_when_the_consumer_leaves_early():
    def work(i: int) -> int:
        time.sleep(0.01)
        return i

    before = threading.active_count()
    with Prefetcher(list(range(1000)), work, depth=2) as results:
        assert next(results) == 0
    time.sleep(0.3)
    assert threading.active_count() == before, "the prefetch thread ended"


def _spoken(start: float, end: float):
    """A segment of 0.4 s words from ``start`` to ``end`` (a word stretched far longer stands on no voice)."""
    from subgen.core.types import Segment, Word

    count = max(1, round((end - start) / 0.4))
    step = (end - start) / count
    words = tuple(Word(" word", start + k * step, start + (k + 1) * step) for k in range(count))
    return Segment(start, end, " word" * count, words)


def test_what_whisper_left_undecoded_is_decoded_again_each_window_rest_on_its_own():
    import numpy as np

    from subgen.asr.batching import DecodeJob, WindowBatcher
    from subgen.audio.media import SAMPLE_RATE, AudioClip
    from subgen.audio.speech import plan_windows
    from subgen.core.types import SpeechRegion as R

    regions = (R(0, 5), R(10, 15), R(30, 35), R(50, 55), R(70, 75))  # three 5 s regions fit one window
    spans = tuple(R(r.start + 0.3, r.end - 0.3) for r in regions)
    windows = plan_windows(regions, spans)
    assert [len(w.time_map.pieces) for w in windows] == [3, 2]

    class StopsEarly(FakeEngine):
        def decode_windows(self, audio, options, language):
            self.batches.append(len(audio))
            self.seconds.append([round(len(a) / SAMPLE_RATE, 1) for a in audio])
            # The first call hears only each window's first region; later calls hear every (5 s) region.
            out = []
            for a in audio:
                starts = (
                    [0.3]
                    if len(self.batches) == 1
                    else [0.3 + 5.2 * k for k in range(round(len(a) / SAMPLE_RATE / 5.2))]
                )
                out.append(tuple(_spoken(t, t + 4.4) for t in starts))
            return out

    engine = StopsEarly()
    engine.seconds = []
    job = DecodeJob(
        AudioClip(np.zeros(80 * SAMPLE_RATE, dtype=np.float32), Path("x")), TranscribeOptions(), "en", spans
    )
    batcher = WindowBatcher(lambda: engine)
    batcher.add(job, windows)
    done = batcher.pump(flush=True)
    assert engine.batches == [2, 2], "each window's rest is a follow-up window of its own"
    assert engine.seconds[1] == [10.2, 5.0], "the first window's two undecoded regions together, the second's alone"
    assert done == [job] and job.pending == 0
    starts = sorted(round(s.start, 1) for s in job.segments)
    assert starts == [0.3, 10.3, 30.3, 50.3, 70.3], "follow-up segments land on the regions they came from"


def test_a_region_whisper_passed_over_is_decoded_again_alone():
    import numpy as np

    from subgen.asr.batching import DecodeJob, WindowBatcher
    from subgen.audio.media import SAMPLE_RATE, AudioClip
    from subgen.audio.speech import JOIN_SILENCE, plan_windows
    from subgen.core.types import SpeechRegion as R

    regions = (R(0, 3), R(10, 15))
    spans = tuple(R(r.start + 0.3, r.end - 0.3) for r in regions)
    [window] = plan_windows(regions, spans)

    class PassesOver(FakeEngine):
        def decode_windows(self, audio, options, language):
            self.seconds.append([round(len(a) / SAMPLE_RATE, 1) for a in audio])
            # First call: words in the second region only; the re-decode of the first region hears it.
            t, d = (3 + JOIN_SILENCE + 0.3, 4.4) if len(self.seconds) == 1 else (0.3, 2.4)
            return [(_spoken(t, t + d),) for _ in audio]

    engine = PassesOver()
    engine.seconds = []
    job = DecodeJob(
        AudioClip(np.zeros(20 * SAMPLE_RATE, dtype=np.float32), Path("x")), TranscribeOptions(), "en", spans
    )
    batcher = WindowBatcher(lambda: engine)
    batcher.add(job, (window,))
    assert batcher.pump(flush=True) == [job]
    assert engine.seconds == [[8.2], [3.0]], "the passed-over region alone, once"
    assert sorted(round(s.start, 1) for s in job.segments) == [0.3, 10.3]


@pytest.mark.parametrize(("again", "kept"), [(" One.", False), (" Zero.", True)])
def test_a_stretch_decoded_again_is_kept_only_when_it_adds_words(again: str, kept: bool):
    import numpy as np

    from subgen.asr.batching import DecodeJob, WindowBatcher
    from subgen.audio.media import AudioClip
    from subgen.audio.speech import plan_windows
    from subgen.core.types import Segment, Word
    from subgen.core.types import SpeechRegion as R

    spans = (R(0.5, 1.5), R(2.0, 5.5))
    [window] = plan_windows((R(0.0, 6.0),), spans)

    class TimedEarly(FakeEngine):
        def decode_windows(self, audio, options, language):
            self.calls += 1
            if self.calls == 1:  # "one" timed before its voice: the span looks passed over
                words = (Word(" one", 0.0, 0.45), Word(" two", 2.0, 2.5), Word(" three", 4.5, 5.1))
            else:
                words = (Word(again, 0.5, 1.5),)
            return [(Segment(words[0].start, words[-1].end, "".join(w.text for w in words), words),) for _ in audio]

    engine = TimedEarly()
    engine.calls = 0
    job = DecodeJob(AudioClip(np.zeros(7 * SAMPLE_RATE, dtype=np.float32), Path("x")), TranscribeOptions(), "en", spans)
    batcher = WindowBatcher(lambda: engine)
    batcher.add(job, (window,))
    assert batcher.pump(flush=True) == [job] and engine.calls == 2
    texts = [w.text for s in job.sorted_segments() for w in s.words]
    assert texts == ([" one", again, " two", " three"] if kept else [" one", " two", " three"])
