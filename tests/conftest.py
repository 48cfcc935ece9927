"""Shared fixtures: real media built with ffmpeg from ../shared/corpus, and the bundled models."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SUBGEN_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Model conversions go to a per-session cache, so the suite proves conversion works from scratch."""
    os.environ["SUBGEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("subgen-cache"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared real-speech corpus (media + reference .txt per stem)."""
    if not CORPUS.is_dir():
        message = f"speech corpus not found at {CORPUS} (set SUBGEN_CORPUS)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run the real-speech tests", pytrace=False)
        pytest.skip(message)
    return CORPUS


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly (test-side helper; the code under test has its own runner)."""
    from subgen.audio.media import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_video(audio: Path, out: Path, *, audio_delay: float = 0.0, pad_after: float = 0.0) -> Path:
    """A small H.264/AAC video (solid colour) carrying ``audio``, optionally starting the audio late."""
    out.parent.mkdir(parents=True, exist_ok=True)
    audio_input = ["-itsoffset", str(audio_delay)] if audio_delay else []
    afilter = ["-af", f"apad=pad_dur={pad_after}"] if pad_after else []
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "color=c=0x203040:s=160x90:r=10",
        *audio_input,
        "-i",
        str(audio),
        "-map",
        "0:v",
        "-map",
        "1:a",
        *afilter,
        # An explicit length: ffmpeg 9's -shortest lets the (buffered) video run on past a short audio stream.
        "-t",
        str(_duration(audio) + audio_delay + pad_after),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-ac",
        "1",
        str(out),
    )
    return out


def _duration(path: Path) -> float:
    from subgen.audio.media import probe

    info = probe(path)
    assert info.duration is not None
    return info.duration


def reference_text(corpus: Path, stem: str) -> str:
    """The reference transcript of a corpus item."""
    return (corpus / f"{stem}.txt").read_text(encoding="utf-8")


def srt_text(path: Path) -> str:
    """All cue text of an SRT file, as one line."""
    import pysrt

    return " ".join(item.text.replace("\n", " ") for item in pysrt.open(str(path), encoding="utf-8"))


@pytest.fixture(scope="session")
def tiny_engine():
    """The bundled tiny.en model, loaded once for tests that call the pipeline directly."""
    from subgen.asr.engines import load_engine
    from subgen.asr.models import resolve

    return load_engine("openai-whisper", resolve("tiny.en"), "cpu")


SYNTH_TEXT = "Subtitles for every video, made offline."
"""What the ``speech_clip`` fixture says (ffmpeg's flite source, a synthetic voice Silero hears as speech)."""


def _ffmpeg_with_flite() -> str | None:
    """An ffmpeg that has the flite source: the system one (Debian builds it in), or the one subgen uses."""
    import shutil

    from subgen.audio.media import ffmpeg_exe

    for exe in dict.fromkeys(filter(None, [shutil.which("ffmpeg"), ffmpeg_exe()])):
        listing = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True, check=False)
        if " flite " in listing.stdout:
            return exe
    return None


@pytest.fixture(scope="session")
def speech_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-3 s mp4 of synthetic speech made by ffmpeg's lavfi sources alone: no corpus, no model (fast tier)."""
    exe = _ffmpeg_with_flite()
    if exe is None:
        message = "no ffmpeg with the flite source (Debian: apt-get install ffmpeg)"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must run the fast tier", pytrace=False)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("speech") / "speech.mp4"
    voice = f"flite=text='{SYNTH_TEXT}':voice=slt,aresample=16000"
    video = "color=c=0x203040:s=160x90:r=10"
    args = ["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", voice, "-map", "0:v", "-map", "1:a", "-shortest"]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1"]
    subprocess.run([exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args, *codecs, str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def cards_clip(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second real-speech mp4 (a spoken playing card), the cheapest real item."""
    return make_video(corpus / "en_pocketsphinx_cards_001.wav", tmp_path_factory.mktemp("cards") / "cards.mp4")


@pytest.fixture(scope="session")
def longform(corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    """The default long-form video (benchmarks/longform.py): 13 utterances, known pauses, 17 s of noise and tone."""
    from benchmarks.longform import build_longform

    return build_longform(corpus, tmp_path_factory.mktemp("longform"))


MODEL_FIXTURES = frozenset({"corpus", "tiny_engine"})
"""Fixtures that need the speech corpus or load a model: tests using them are in the ``model`` tier."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that needs a model or the corpus ``model``; ``pytest -m "not model"`` is the fast tier."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


@pytest.fixture(autouse=True)
def _fast_tier_loads_no_model(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test outside the ``model`` tier that loads a model fails, so the fast tier stays fast and honest."""
    if request.node.get_closest_marker("model"):
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{request.node.nodeid} loads a model: mark it @pytest.mark.model or use FakeEngine")

    monkeypatch.setattr("subgen.asr.engines.load_engine", refuse)


def cli_loads_torch(*args: str) -> bool:
    """Run ``subgen ARGS`` (CliRunner) in a fresh interpreter; whether torch got imported. The command must succeed."""
    import sys

    code = (
        "import sys; from typer.testing import CliRunner; from subgen.cli import app; "
        f"r = CliRunner().invoke(app, {list(args)!r}); "
        "assert r.exit_code == 0, r.output; print('torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip() == "True"
