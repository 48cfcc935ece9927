"""Flat memory for long media: disk-backed samples, streamed VAD, and a 3-hour file that costs what 3 minutes do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ffmpeg, make_video

from benchmarks.longform import corpus_media, generate, level
from subgen.audio import vad
from subgen.audio.media import SAMPLE_RATE, AudioClip, DiskSamples, extract_audio, extract_audio_file, probe
from subgen.core.errors import MediaError

REPO = Path(__file__).resolve().parent.parent
STEMS = ("en_jfk_inaugural_excerpt", "en_librispeech_1089-134686-0000", "en_ljspeech_LJ001-0001", "en_fleurs_001")
BASE_SECONDS = 180.0
LOOPS = 60
"""The 3-hour file is the 3-minute one played 60 times."""
RSS_SLACK_KB = 60 * 1024


def _disk(samples: np.ndarray, path: Path) -> DiskSamples:
    samples.astype("<f4").tofile(path)
    return DiskSamples(path)


SLICES = [
    (None, None),
    (0, 10),
    (5, 5),
    (10, 5),
    (-10, None),
    (None, -10),
    (-5, -1),
    (-2000, 5),
    (990, 2000),
    (2000, 3000),
    (None, 2000),
    (999, None),
    (0, 0),
    (-1, None),
]


@pytest.mark.parametrize(("start", "stop"), SLICES)
def test_disk_samples_slice_like_numpy(tmp_path, start, stop):
    reference = np.random.default_rng(1).standard_normal(1000).astype(np.float32)
    disk = _disk(reference, tmp_path / "a.f32")
    got = disk[start:stop]
    assert len(disk) == 1000
    assert got.dtype == np.float32 and got.ndim == 1
    np.testing.assert_array_equal(got, reference[start:stop])
    if got.size:
        got[0] = 99.0  # a fresh array: writing to it changes neither the file nor a later read
        assert disk[start:stop][0] == reference[start:stop][0]


def test_disk_samples_take_only_contiguous_slices(tmp_path):
    disk = _disk(np.arange(10, dtype=np.float32), tmp_path / "a.f32")
    np.testing.assert_array_equal(disk[2:4:1], [2.0, 3.0])
    for index in (3, -1, [1, 2], ..., (slice(0, 2),)):
        with pytest.raises(TypeError, match="slice"):
            disk[index]
    for step in (2, -1):
        with pytest.raises(ValueError, match="step"):
            disk[::step]


def test_empty_disk_samples(tmp_path):
    empty = tmp_path / "empty.f32"
    empty.write_bytes(b"")
    disk = DiskSamples(empty)
    assert len(disk) == 0 and disk[:].shape == (0,) and disk[-5:5].dtype == np.float32
    assert AudioClip(disk, Path("x")).duration == 0.0


@pytest.fixture(scope="module")
def late_video(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An AAC video whose audio starts 1.5 s after the container, so the padding filter matters."""
    out = tmp_path_factory.mktemp("late") / "late.mp4"
    return make_video(corpus / "en_pocketsphinx_cards_001.wav", out, audio_delay=1.5)


@pytest.mark.parametrize("which", ["flac", "opus", "late_video"])
def test_extract_audio_file_matches_in_memory_extraction(corpus, late_video, tmp_path, which):
    source = {
        "flac": corpus / "en_jfk_inaugural_excerpt.flac",
        "opus": corpus / "en_fleurs_000.ogg",
        "late_video": late_video,
    }[which]
    memory = extract_audio(source)
    info, disk = extract_audio_file(source, tmp_path)
    assert info == probe(source), "the same run's log tells what a separate probe would"
    assert isinstance(disk.samples, DiskSamples) and disk.samples.path.parent == tmp_path
    assert disk.source == source and disk.sample_rate == SAMPLE_RATE
    assert disk.duration == memory.duration and len(disk.samples) == len(memory.samples)
    np.testing.assert_array_equal(disk.samples[:], memory.samples)


def test_two_clips_with_one_name_share_a_directory(corpus, tmp_path):
    source = corpus / "en_pocketsphinx_cards_001.wav"
    (_, first), (_, second) = extract_audio_file(source, tmp_path), extract_audio_file(source, tmp_path)
    assert first.samples.path != second.samples.path
    np.testing.assert_array_equal(first.samples[:], second.samples[:])


def _no_audio_video(path: Path) -> None:
    video = ("-c:v", "libx264", "-pix_fmt", "yuv420p")
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64:r=5", "-t", "1", *video, str(path))


@pytest.mark.parametrize("kind", ["text", "empty", "no_audio", "truncated"])
def test_bad_files_raise_media_error_naming_the_file_and_leave_nothing(corpus, tmp_path, kind):
    bad = tmp_path / "in" / f"bad [{kind}] 'x'.mp4"
    bad.parent.mkdir()
    if kind == "text":
        bad.write_text("not a video\n" * 50)
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "no_audio":
        _no_audio_video(bad)
    else:
        bad = bad.with_suffix(".flac")
        bad.write_bytes((corpus / "en_jfk_inaugural_excerpt.flac").read_bytes()[:200])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(MediaError) as info:
        extract_audio_file(bad, scratch)
    message = str(info.value)
    assert str(bad) in message and "\n" not in message
    expected = {"text": "not a readable media file", "empty": "is empty", "no_audio": "has no audio stream"}
    assert expected.get(kind, "") in message
    assert list(scratch.iterdir()) == [], "a failed extraction must not leave its sample file behind"


def _whole_array_probabilities(samples: np.ndarray) -> np.ndarray:
    """The pre-streaming VAD pass, kept as the oracle: all samples framed at once, then run in chunks."""
    if len(samples) == 0:
        return np.zeros(0, dtype=np.float32)  # the old code raised here (a window wider than its padded input)
    padded = np.zeros(vad.CONTEXT + -(-len(samples) // vad.WINDOW) * vad.WINDOW, dtype=np.float32)
    padded[vad.CONTEXT : vad.CONTEXT + len(samples)] = samples
    rows = np.lib.stride_tricks.sliding_window_view(padded, vad.CONTEXT + vad.WINDOW)[:: vad.WINDOW]
    rows = rows[: len(padded[vad.CONTEXT :]) // vad.WINDOW]
    h = c = np.zeros(vad.STATE_SHAPE, dtype=np.float32)
    out = []
    for first in range(0, len(rows), vad.CHUNK_WINDOWS):
        batch = np.ascontiguousarray(rows[first : first + vad.CHUNK_WINDOWS])
        probs, h, c = vad._session().run(None, {"input": batch, "h": h, "c": c})
        out.append(np.asarray(probs, dtype=np.float32).reshape(-1))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


@pytest.fixture(scope="module")
def three_minutes(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three minutes of FLAC in Matroska: corpus utterances every 15 s over quiet pink noise."""
    out = tmp_path_factory.mktemp("three-minutes")
    audio = generate("pink", BASE_SECONDS, level_db=-50.0)
    speech = [level(extract_audio(corpus_media(corpus, stem)).samples, -23.0) for stem in STEMS]
    for i, start in enumerate(range(2, int(BASE_SECONDS) - 15, 15)):
        utterance = speech[i % len(speech)][: 13 * SAMPLE_RATE]
        at = start * SAMPLE_RATE
        audio[at : at + len(utterance)] += utterance
    raw = out / "base.f32"
    audio.astype("<f4").tofile(raw)
    base = out / "base.mka"
    pcm = ("-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1")
    ffmpeg(*pcm, "-i", str(raw), "-sample_fmt", "s16", "-c:a", "flac", str(base))
    raw.unlink()
    return base


def test_streamed_vad_equals_one_pass_across_blocks(three_minutes, tmp_path):
    _, clip = extract_audio_file(three_minutes, tmp_path)
    memory = clip.samples[:]
    assert len(memory) > vad.CHUNK_WINDOWS * vad.WINDOW, "the clip must span more than one block"
    expected = _whole_array_probabilities(memory)
    assert len(expected) == -(-len(memory) // vad.WINDOW) and expected.max() > 0.9
    np.testing.assert_array_equal(vad.speech_probabilities(clip.samples), expected)
    np.testing.assert_array_equal(vad.speech_probabilities(memory), expected)
    in_memory = vad.speech_activity(AudioClip(memory, three_minutes))
    assert vad.speech_activity(clip) == in_memory and len(in_memory.regions) >= 10


@pytest.mark.parametrize("length", [0, 30, 64, 511, 512, 513, 5 * 512 - 1, 5 * 512, 5 * 512 + 1, 5 * 512 + 64, None])
def test_streamed_vad_block_edges(corpus, tmp_path, monkeypatch, length):
    monkeypatch.setattr(vad, "CHUNK_WINDOWS", 5)  # blocks of 2560 samples: many boundaries in a short clip
    samples = extract_audio(corpus / "en_librispeech_1089-134686-0000.flac").samples[:length]
    expected = _whole_array_probabilities(samples)
    streamed = vad.speech_probabilities(_disk(samples, tmp_path / "a.f32"))
    assert len(streamed) == -(-len(samples) // vad.WINDOW)
    np.testing.assert_array_equal(streamed, expected)
    if length is None:
        assert expected.max() > 0.9, "the clip must hold speech for the comparison to mean something"


@pytest.fixture(scope="module")
def three_hours(three_minutes: Path) -> Path:
    """The 3-minute file looped to 3 hours by copying packets (no re-encode, so it takes about a second)."""
    long = three_minutes.with_name("three-hours.mka")
    ffmpeg("-stream_loop", str(LOOPS - 1), "-i", str(three_minutes), "-c", "copy", str(long))
    return long


_CHILD = """
import json, resource, sys, tempfile
from pathlib import Path
from subgen.audio.media import extract_audio_file
from subgen.audio.speech import plan_windows
from subgen.audio.vad import speech_activity

with tempfile.TemporaryDirectory(dir=sys.argv[2]) as scratch:
    _, clip = extract_audio_file(Path(sys.argv[1]), Path(scratch))
    activity = speech_activity(clip)
    windows = plan_windows(activity.regions, activity.spans)
    heard = sum(float(abs(w.samples(clip)).max() > 0.05) for w in windows)
    speech = sum(w.duration for w in windows)
    report = dict(duration=clip.duration, regions=len(activity.regions), windows=len(windows), heard=heard,
                  speech=speech)
report["ru_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
report["hwm_kb"] = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps(report))
"""
# ru_maxrss survives exec: a child that subprocess starts (vfork + exec) reports at least the peak of the
# pytest process that started it. VmHWM is the peak of the child's own address space since exec.


def _peak(media: Path, scratch: Path) -> dict:
    """Extract, VAD and read every decode window of ``media`` in a fresh interpreter; its counts and peak RSS."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(media), str(scratch)], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_three_hours_need_no_more_memory_than_three_minutes(three_minutes, three_hours, tmp_path):
    short = _peak(three_minutes, tmp_path)
    long = _peak(three_hours, tmp_path)
    print(f"\npeak RSS (VmHWM): 3 min {short['hwm_kb'] / 1024:.1f} MB, 3 h {long['hwm_kb'] / 1024:.1f} MB")
    print(f"ru_maxrss: 3 min {short['ru_maxrss_kb'] / 1024:.1f} MB, 3 h {long['ru_maxrss_kb'] / 1024:.1f} MB")
    assert short["duration"] == pytest.approx(BASE_SECONDS, abs=0.1)
    # Looping by packet copy loses a few ms per loop where the copies' timestamps overlap.
    assert long["duration"] == pytest.approx(LOOPS * BASE_SECONDS, abs=10)
    assert long["regions"] >= LOOPS * short["regions"] * 0.9
    # Windows pack regions across the loop joins, so count the seconds they hold, not how many there are.
    assert long["speech"] >= LOOPS * short["speech"] * 0.9 and long["heard"] == long["windows"]
    assert long["hwm_kb"] <= short["hwm_kb"] + RSS_SLACK_KB, (short, long)
    assert not list(tmp_path.iterdir()), "the scratch directory holds the samples only while they are used"
