"""ffmpeg stage on real media: probe, extraction, late audio, the imageio-ffmpeg fallback."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ffmpeg, make_video

from subgen.audio import media
from subgen.core.errors import FFmpegNotFound, MediaError


def test_probe_reads_streams_and_duration(cards_clip, corpus):
    info = media.probe(cards_clip)
    assert info.audio_streams == 1 and info.video_streams == 1
    assert info.audio_codec == "aac"
    speech = media.probe(corpus / "en_pocketsphinx_cards_001.wav")
    assert speech.duration == pytest.approx(1.1, abs=0.05) and speech.video_streams == 0
    # ffmpeg builds end -shortest muxes differently (up to a few video frames and AAC padding later).
    assert speech.duration - 0.05 <= info.duration <= speech.duration + 0.5


def test_extract_gives_16k_mono_float(corpus):
    clip = media.extract_audio(corpus / "en_jfk_inaugural_excerpt.flac")
    assert clip.samples.dtype == np.float32 and clip.sample_rate == 16000
    assert clip.duration == pytest.approx(11.0, abs=0.05)
    assert 0.05 < np.abs(clip.samples).max() < 1.5  # resampling may overshoot full scale slightly


def test_late_audio_stream_is_padded_onto_the_video_timeline(corpus, tmp_path):
    video = make_video(corpus / "en_pocketsphinx_cards_001.wav", tmp_path / "late.mp4", audio_delay=2.0)
    clip = media.extract_audio(video)
    assert clip.duration == pytest.approx(3.1, abs=0.15)
    lead, speech = clip.samples[: 16000 * 19 // 10], clip.samples[16000 * 2 :]
    assert np.abs(lead).max() < 0.01, "the first 2 s must be the silence before the audio stream starts"
    assert np.abs(speech).max() > 0.1


def test_video_without_audio_has_no_audio_stream(tmp_path):
    silent = tmp_path / "silent.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=red:s=64x64:r=5", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(silent)
    )
    assert media.probe(silent).audio_streams == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"this is a text file, not a video\n" * 20, "not a readable media file")],
)
def test_unreadable_files_raise_media_error(tmp_path, content, message):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(MediaError, match=message) as info:
        media.probe(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_names_that_look_like_options_or_protocols(corpus, tmp_path):
    for name in ("-i.mp4", "http:x.mp4", "a:b.mp4"):
        target = make_video(corpus / "en_pocketsphinx_cards_001.wav", tmp_path / "src.mp4")
        odd = target.rename(tmp_path / name)
        assert media.probe(odd).audio_streams == 1
        assert media.extract_audio(odd).duration > 0.5


def test_imageio_ffmpeg_fallback_works(cards_clip, monkeypatch):
    import imageio_ffmpeg

    monkeypatch.setenv("SUBGEN_FFMPEG", imageio_ffmpeg.get_ffmpeg_exe())
    media.ffmpeg_exe.cache_clear()
    try:
        assert media.ffmpeg_exe() == imageio_ffmpeg.get_ffmpeg_exe()
        assert media.extract_audio(cards_clip).duration > 0.5
    finally:
        media.ffmpeg_exe.cache_clear()


def test_system_ffmpeg_is_preferred(monkeypatch, tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.delenv("SUBGEN_FFMPEG", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    media.ffmpeg_exe.cache_clear()
    try:
        assert media.ffmpeg_exe() == str(fake)
    finally:
        media.ffmpeg_exe.cache_clear()


def test_bad_ffmpeg_override_is_reported(monkeypatch):
    monkeypatch.setenv("SUBGEN_FFMPEG", "/nonexistent/ffmpeg")
    media.ffmpeg_exe.cache_clear()
    try:
        with pytest.raises(FFmpegNotFound, match="SUBGEN_FFMPEG"):
            media.ffmpeg_exe()
    finally:
        media.ffmpeg_exe.cache_clear()
