"""Subtitles into the video on real media: burn-in (odd names, styling, CJK glyphs), soft tracks, run --burn/--embed."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pysrt
import pytest
from conftest import ffmpeg
from typer.testing import CliRunner

from subgen.audio.media import ffmpeg_exe, probe
from subgen.cli import app

runner = CliRunner()
W, H = 320, 180
SRT = "1\n00:00:00,200 --> 00:00:02,800\n{line}\n"

# Names that break filtergraph quoting, option parsing or naive path handling.
ODD_NAMES = [
    "plain name",
    "it's",
    'say "hi"',
    "a:b",
    "semi;colon,comma",
    "[brackets] x",
    "100% done",
    "back\\slash",
    "C:\\Videos\\talk",
    "日本語 vidéo ünïcode",
    "-leading dash",
    "all 'of\": them;[x],%\\",
]


def _clip(out: Path, seconds: float = 3.0, *, video: list[str] | None = None, audio: list[str] | None = None) -> Path:
    """A 320x180 10 fps clip: mid-grey picture, a tone; H.264/AAC unless codec arguments say otherwise."""
    video = video or ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    audio = audio or ["-c:a", "aac", "-b:a", "64k"]
    ffmpeg(
        *("-f", "lavfi", "-i", f"color=c=0x606060:s={W}x{H}:r=10", "-f", "lavfi", "-i", "sine=f=440:r=44100"),
        *("-t", str(seconds), "-map", "0:v", "-map", "1:a", *video, *audio, "file:" + str(out)),
    )
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unsubtitled source every burn test compares against."""
    return _clip(tmp_path_factory.mktemp("src") / "clip.mp4")


def _frame(path: Path, at: float = 1.5) -> np.ndarray:
    """One decoded frame as an H x W x 3 int array."""
    argv = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-ss", str(at), "-i", "file:" + str(path)]
    argv += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    raw = subprocess.run(argv, capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(H, W, 3).astype(int)


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels that differ clearly (text and outline), not by re-encoding noise."""
    return float((np.abs(a - b).max(axis=2) > 40).mean())


def _bands(path: Path, source: Path) -> tuple[float, float]:
    """How much the top and bottom thirds of the picture changed against the source."""
    new, old = _frame(path), _frame(source)
    third = H // 3
    return _changed(new[:third], old[:third]), _changed(new[-third:], old[-third:])


def _stream_md5(path: Path, kind: str) -> str:
    """MD5 of a stream's packets, copied untouched: equal only if the stream was not re-encoded."""
    argv = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", "file:" + str(path), "-map", f"0:{kind}:0"]
    argv += ["-c", "copy", "-f", "md5", "pipe:1"]
    return subprocess.run(argv, capture_output=True, check=True, text=True).stdout.strip()


def _ffmpeg_i(path: Path) -> str:
    argv = [ffmpeg_exe(), "-hide_banner", "-i", "file:" + str(path)]
    return subprocess.run(argv, capture_output=True, text=True, check=False).stderr


def _size(path: Path) -> tuple[int, int]:
    match = re.search(r"Video: .*?, (\d+)x(\d+)", _ffmpeg_i(path))
    assert match, _ffmpeg_i(path)
    return int(match.group(1)), int(match.group(2))


def _subtitle_streams(path: Path) -> list[tuple[str, str]]:
    """(language, codec) of each subtitle stream."""
    found = re.findall(r"Stream #\d+:\d+(?:\[\w+\])?(?:\((\w+)\))?.*?: Subtitle: (\w+)", _ffmpeg_i(path))
    return [(lang or "und", codec) for lang, codec in found]


def _srt(path: Path, line: str = "Hello there") -> Path:
    path.write_text(SRT.format(line=line), encoding="utf-8")
    return path


def _invoke(*args: str):
    return runner.invoke(app, list(args))


# ---------------------------------------------------------------- burn-in


@pytest.mark.parametrize("name", ODD_NAMES)
def test_burn_works_on_any_file_name(name: str, clip: Path, tmp_path: Path):
    video = tmp_path / f"{name}.mp4"
    shutil.copyfile(clip, video)
    subs = _srt(tmp_path / f"{name}.en.srt")
    result = _invoke("burn", str(video), str(subs))
    assert result.exit_code == 0, result.output
    out = tmp_path / f"{name}.burned.mp4"
    assert result.stdout.strip() == str(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([video.name, subs.name, out.name])
    top, bottom = _bands(out, clip)
    assert bottom > 0.005 and top == 0.0, (top, bottom)


def test_burn_keeps_resolution_frame_rate_duration_and_copies_the_audio(clip: Path, tmp_path: Path):
    out = tmp_path / "clip.burned.mp4"
    assert _invoke("burn", str(clip), str(_srt(tmp_path / "clip.srt")), "-o", str(tmp_path)).exit_code == 0
    source, burnt = probe(clip), probe(out)
    assert _size(out) == (W, H) and burnt.fps == source.fps == 10
    assert burnt.duration == pytest.approx(source.duration, abs=0.1)
    assert _stream_md5(out, "a") == _stream_md5(clip, "a")
    assert _stream_md5(out, "v") != _stream_md5(clip, "v")
    assert "crf=18" in subprocess.run(  # x264 records its settings in the stream
        [ffmpeg_exe(), "-nostdin", "-i", f"file:{out}", "-map", "0:v", "-c", "copy", "-f", "h264", "pipe:1"],
        capture_output=True,
        check=True,
    ).stdout.decode("latin-1")


def test_position_top_and_styling(clip: Path, tmp_path: Path):
    subs = _srt(tmp_path / "s.srt")
    top_out = tmp_path / "top"
    assert _invoke("burn", str(clip), str(subs), "--position", "top", "-o", str(top_out)).exit_code == 0
    top, bottom = _bands(top_out / "clip.burned.mp4", clip)
    assert top > 0.005 and bottom == 0.0, (top, bottom)

    big = tmp_path / "big"
    styled = ["--font-size", "40", "--outline", "4", "--margin", "30", "--ass-style", "PrimaryColour=&H0000FFFF"]
    assert _invoke("burn", str(clip), str(subs), "-o", str(big), *styled).exit_code == 0
    small = tmp_path / "small"
    assert _invoke("burn", str(clip), str(subs), "-o", str(small)).exit_code == 0
    _, bottom_big = _bands(big / "clip.burned.mp4", clip)
    _, bottom_small = _bands(small / "clip.burned.mp4", clip)
    assert bottom_big > 2 * bottom_small
    pixel = _frame(big / "clip.burned.mp4")[-H // 3 :].reshape(-1, 3)
    yellow = (pixel[:, 0] > 180) & (pixel[:, 1] > 180) & (pixel[:, 2] < 90)
    assert yellow.sum() > 50, "PrimaryColour=&H0000FFFF (yellow) from --ass-style was not applied"


def test_an_ass_file_is_burnt_with_its_own_style(clip: Path, tmp_path: Path):
    from subgen.core.options import SubtitleStyle
    from subgen.core.types import Cue
    from subgen.subtitles.ass import render

    ass = tmp_path / "top.ass"
    ass.write_text(render([Cue(0.2, 2.8, ("From ASS",))], SubtitleStyle(position="top")), encoding="utf-8")
    assert _invoke("burn", str(clip), str(ass)).exit_code == 0
    top, bottom = _bands(clip.parent / "clip.burned.mp4", clip)
    (clip.parent / "clip.burned.mp4").unlink()
    assert top > 0.005 and bottom == 0.0


def _cjk_fonts(tmp_path: Path) -> Path:
    spec = importlib.util.find_spec("cvttf_NotoSansCJK_Regular")
    assert spec and spec.origin, "the dev extra cvttf-NotoSansCJK-Regular (a Noto Sans CJK font) is not installed"
    fonts = tmp_path / "fonts [cjk]: it's"
    fonts.mkdir()
    for font in Path(spec.origin).parent.glob("*.otf"):
        (fonts / font.name).symlink_to(font)
    return fonts


def test_cjk_text_renders_real_glyphs_with_fonts_dir(clip: Path, tmp_path: Path):
    """Two different four-character lines must render differently: tofu boxes of equal count would not."""
    fonts = _cjk_fonts(tmp_path)
    crops = []
    for n, line in enumerate(["你好世界", "こんにちは"[:4]]):
        subs = _srt(tmp_path / f"{n}.srt", line)
        out_dir = tmp_path / str(n)
        args = ["--fonts-dir", str(fonts), "--font-size", "32", "-o", str(out_dir)]
        result = _invoke("burn", str(clip), str(subs), *args)
        assert result.exit_code == 0, result.output
        frame, source = _frame(out_dir / "clip.burned.mp4"), _frame(clip)
        assert _changed(frame[-H // 3 :], source[-H // 3 :]) > 0.01, f"{line} left no text"
        crops.append(frame[-H // 3 :])
    assert _changed(crops[0], crops[1]) > 0.01, "both lines rendered alike: missing glyphs (tofu) instead of text"


@pytest.fixture
def ffmpeg_without_libass(tmp_path: Path):
    """SUBGEN_FFMPEG pointing at a wrapper that hides the subtitles filter, as a build without libass would."""
    from subgen.audio import media

    wrapper = tmp_path / "ffmpeg-nolibass"
    real = ffmpeg_exe()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$2" = "-filters" ]; then "{real}" "$@" | grep -v " subtitles "; exit 0; fi\n'
        f'exec "{real}" "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    os.environ["SUBGEN_FFMPEG"], saved = str(wrapper), os.environ.get("SUBGEN_FFMPEG")
    media.ffmpeg_exe.cache_clear()
    yield wrapper
    if saved is None:
        del os.environ["SUBGEN_FFMPEG"]
    else:
        os.environ["SUBGEN_FFMPEG"] = saved
    media.ffmpeg_exe.cache_clear()


def test_missing_libass_is_reported_before_encoding(clip: Path, tmp_path: Path, ffmpeg_without_libass: Path):
    video = tmp_path / "v.mp4"
    shutil.copyfile(clip, video)
    result = _invoke("burn", str(video), str(_srt(tmp_path / "v.srt")))
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert str(ffmpeg_without_libass) in message and "libass" in message
    assert "apt-get install ffmpeg" in message and "imageio_ffmpeg" in message
    assert not list(tmp_path.glob("*burned*")) and not list(tmp_path.glob(".*"))


def test_burn_of_a_file_without_video_fails_cleanly(tmp_path: Path):
    audio = tmp_path / "talk.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=f=440", "-t", "2", "-c:a", "aac", str(audio))
    result = _invoke("burn", str(audio), str(_srt(tmp_path / "talk.srt")))
    assert result.exit_code == 1 and "no video stream" in result.output
    assert not list(tmp_path.glob("*burned*"))


# ---------------------------------------------------------------- soft subtitle tracks


@pytest.mark.parametrize(
    ("suffix", "codecs", "args", "expected"),
    [
        (".mp4", [], [], [("eng", "mov_text"), ("deu", "mov_text")]),
        (".mov", [], [], [("eng", "mov_text"), ("ger", "mov_text")]),
        (".mkv", [], [], [("eng", "subrip"), ("ger", "subrip")]),
        (
            ".webm",
            ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k"],
            [],
            [("eng", "webvtt"), ("ger", "webvtt")],
        ),
    ],
)
def test_embed_adds_tagged_tracks_without_re_encoding(suffix, codecs, args, expected, tmp_path: Path):
    audio = ["-c:a", "libopus", "-b:a", "48k"] if suffix == ".webm" else None
    video = _clip(tmp_path / f"talk [1]{suffix}", video=codecs or None, audio=audio)
    en, de = _srt(tmp_path / "talk [1].en.srt"), _srt(tmp_path / "talk [1].de.srt", "Guten Tag")
    result = _invoke("embed", str(video), str(en), str(de), *args)
    assert result.exit_code == 0, result.output
    out = tmp_path / f"talk [1].subtitled{suffix}"
    assert _subtitle_streams(out) == expected
    for kind in ("v", "a"):
        assert _stream_md5(out, kind) == _stream_md5(video, kind)
    assert "English" in _ffmpeg_i(out)


def test_embed_ass_into_mkv_keeps_ass(tmp_path: Path):
    from subgen.core.options import SubtitleStyle
    from subgen.core.types import Cue
    from subgen.subtitles.ass import render

    video = _clip(tmp_path / "v.mkv")
    ass = tmp_path / "v.fr.ass"
    ass.write_text(render([Cue(0.5, 2.0, ("Bonjour",))], SubtitleStyle()), encoding="utf-8")
    assert _invoke("embed", str(video), str(ass)).exit_code == 0
    assert _subtitle_streams(tmp_path / "v.subtitled.mkv") == [("fre", "ass")]


def test_embed_in_place_replaces_the_source_atomically_and_does_not_duplicate(tmp_path: Path):
    video = _clip(tmp_path / "keep; it's.mp4")
    video.chmod(0o644)
    subs = _srt(tmp_path / "subs.srt")
    for _ in range(2):
        before = video.stat().st_ino
        result = _invoke("embed", str(video), str(subs), "--languages", "es", "--in-place")
        assert result.exit_code == 0, result.output
        assert video.stat().st_ino != before, "a new file is renamed over the source, not written into it"
    assert stat.S_IMODE(video.stat().st_mode) == 0o644
    assert _subtitle_streams(video) == [("spa", "mov_text")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep; it's.mp4", "subs.srt"]


def test_embed_refuses_containers_without_text_subtitles(tmp_path: Path):
    video = _clip(tmp_path / "old.avi", video=["-c:v", "mpeg4"], audio=["-c:a", "pcm_s16le"])
    result = _invoke("embed", str(video), str(_srt(tmp_path / "old.en.srt")))
    assert result.exit_code == 1 and "cannot carry a soft subtitle track" in result.output
    assert not list(tmp_path.glob("*subtitled*")) and not list(tmp_path.glob(".*"))


def test_embed_usage_errors(tmp_path: Path):
    video = _clip(tmp_path / "v.mp4")
    subs = _srt(tmp_path / "v.srt")
    assert _invoke("embed", str(video), str(subs), "--languages", "en,de").exit_code == 2
    assert _invoke("embed", str(video), str(subs), "--languages", "xx").exit_code == 2
    assert _invoke("embed", str(video), str(tmp_path / "missing.srt")).exit_code == 2


# ---------------------------------------------------------------- subgen run --burn / --embed


def test_run_burn_writes_a_subtitled_copy_and_reruns_skip_it(cards_clip: Path, tmp_path: Path):
    out = tmp_path / "out"
    args = ["-q", "run", str(cards_clip), "--model", "tiny.en", "--burn", "-o", str(out), "-f", "srt,ass"]
    assert _invoke(*args).exit_code == 0
    video = out / "cards.burned.mp4"
    names = sorted(p.name for p in out.iterdir())
    assert names == [".subgen-languages.json", "cards.burned.mp4", "cards.en.ass", "cards.en.srt"]
    assert "Style: Default,Arial,20," in (out / "cards.en.ass").read_text(encoding="utf-8")
    info = probe(video)
    assert (info.video_streams, info.audio_streams) == (1, 1)
    frame, source = _frame_at(video, 0.4), _frame_at(cards_clip, 0.4)  # "10 of clubs" is on screen
    assert _changed(frame[-30:], source[-30:]) > 0.005

    mtime = video.stat().st_mtime_ns
    report = tmp_path / "r.json"
    assert _invoke(*args, "--report", str(report)).exit_code == 0
    assert video.stat().st_mtime_ns == mtime and '"skipped"' in report.read_text()
    assert _invoke(*args, "--overwrite").exit_code == 0
    assert video.stat().st_mtime_ns != mtime


def _frame_at(path: Path, at: float) -> np.ndarray:
    """A frame of conftest's 160x90 clips."""
    argv = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-ss", str(at), "-i", "file:" + str(path)]
    argv += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    raw = subprocess.run(argv, capture_output=True, check=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(90, 160, 3).astype(int)


def test_run_embed_in_place_and_a_folder_rerun_does_not_take_its_own_outputs(cards_clip: Path, tmp_path: Path):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copyfile(cards_clip, folder / "a.mp4")
    shutil.copyfile(cards_clip, folder / "b.mp4")
    assert _invoke("-q", "run", str(folder / "b.mp4"), "--model", "tiny.en", "--embed").exit_code == 0
    assert (folder / "b.subtitled.mp4").is_file()
    report = tmp_path / "r.json"
    args = ["-q", "run", str(folder), "--model", "tiny.en", "--embed", "--in-place", "--report", str(report)]
    assert _invoke(*args).exit_code == 0
    import json

    items = json.loads(report.read_text())["items"]
    assert [Path(i["source"]).name for i in items] == ["a.mp4", "b.mp4"]
    assert _subtitle_streams(folder / "a.mp4") == [("eng", "mov_text")]
    assert _invoke(*args).exit_code == 0
    assert _subtitle_streams(folder / "a.mp4") == [("eng", "mov_text")], "a rerun must not add the track again"
    assert [i["status"] for i in json.loads(report.read_text())["items"]] == ["skipped", "skipped"]


def test_run_burn_on_audio_only_input_writes_subtitles_and_warns(corpus: Path, tmp_path: Path):
    audio = tmp_path / "talk.flac"
    shutil.copyfile(corpus / "en_pocketsphinx_cards_001.wav", tmp_path / "talk.wav")
    ffmpeg("-i", str(tmp_path / "talk.wav"), str(audio))
    result = _invoke("run", str(audio), "--model", "tiny.en", "--burn")
    assert result.exit_code == 0, result.output
    assert "no video stream" in result.output
    assert (tmp_path / "talk.en.srt").is_file() and not list(tmp_path.glob("*subtitled*"))


def test_run_embed_tracks_original_and_translate_in_one_mkv(corpus: Path, tmp_path: Path):
    from conftest import make_video

    video = make_video(corpus / "de_fleurs_000.ogg", tmp_path / "rede.mkv")
    args = ["-q", "run", str(video), "--model", "base", "--tracks", "original,en", "--embed", "--language", "de"]
    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rede.de.srt").is_file() and (tmp_path / "rede.en.srt").is_file()
    out = tmp_path / "rede.subtitled.mkv"
    assert _subtitle_streams(out) == [("ger", "subrip"), ("eng", "subrip")]
    assert "English (translated)" in _ffmpeg_i(out) and "German" in _ffmpeg_i(out)
    # Each track carries its own pass's cues (the model's wording varies between runs, so compare, do not judge).
    for index, lang in enumerate(("de", "en")):
        assert _track_texts(out, index) == _srt_texts(tmp_path / f"rede.{lang}.srt") != []


def _track_texts(video: Path, index: int) -> list[str]:
    argv = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", "file:" + str(video), "-map", f"0:s:{index}"]
    srt = subprocess.run([*argv, "-f", "srt", "pipe:1"], capture_output=True, check=True).stdout.decode("utf-8")
    return [item.text for item in pysrt.from_string(srt)]


def _srt_texts(path: Path) -> list[str]:
    return [item.text for item in pysrt.open(str(path), encoding="utf-8")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--burn", "--embed"], "choose one"),
        (["--in-place"], "--in-place"),
        (["--tracks", "original,fr"], "--tracks"),
        (["--tracks", "original,en"], "English-only"),
        (["--burn", "--format", "txt"], "timed subtitles"),
        (["--burn", "--position", "middle"], "--position"),
        (["--burn", "--ass-style", "Colour=red"], "--ass-style"),
        (["--burn", "--font", "Arial,Bold"], "--font"),
        (["--burn", "--fonts-dir", "/no/such/folder"], "--fonts-dir"),
        (["--task", "translate", "--tracks", "original"], "conflicts"),
    ],
)
def test_video_usage_errors_exit_2_before_any_model_loads(args, message, cards_clip, monkeypatch):
    def no_load(*a, **k):
        raise AssertionError("a model was loaded despite a usage error")

    monkeypatch.setattr("subgen.asr.engines.load_engine", no_load)
    result = _invoke("run", str(cards_clip), "--model", "tiny.en", *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
