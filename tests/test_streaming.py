"""Flat memory for long media: disk-backed samples, streamed VAD, and a 3-hour file that costs what 3 minutes do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ffmpeg, make_video

from subgen.errors import MediaError
from subgen.media import SAMPLE_RATE, AudioClip, DiskSamples, extract_audio, extract_audio_file


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
    disk = extract_audio_file(source, tmp_path)
    assert isinstance(disk.samples, DiskSamples) and disk.samples.path.parent == tmp_path
    assert disk.source == source and disk.sample_rate == SAMPLE_RATE
    assert disk.duration == memory.duration and len(disk.samples) == len(memory.samples)
    np.testing.assert_array_equal(disk.samples[:], memory.samples)


def test_two_clips_with_one_name_share_a_directory(corpus, tmp_path):
    source = corpus / "en_pocketsphinx_cards_001.wav"
    first, second = extract_audio_file(source, tmp_path), extract_audio_file(source, tmp_path)
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
    assert list(scratch.iterdir()) == [], "a failed extraction must not leave its sample file behind"
