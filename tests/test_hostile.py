"""What a hostile user feeds subgen: every case ends with a clear one-line message naming the file and the fix,
no traceback, the other items written, and nothing written outside the intended folders.

The batch runs through the real CLI (``CliRunner``) with the API's warm-engine cache holding a fake engine, so
these are fast-tier tests; the cases that need a real checkpoint or a real run are marked ``model``.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from subgen import api
from subgen.asr.engines.fake import FakeEngine
from subgen.cli import app
from subgen.core.errors import DownloadError, MediaError, UsageError
from subgen.core.options import TranscribeOptions
from subgen.pipeline.engine import EngineCache
from subgen.pipeline.scratch import PREFIX, remove_dead_scratch
from subgen.sources.download import DownloadLimits

REPO = Path(__file__).resolve().parent.parent


class Run:
    """One CLI invocation's outcome."""

    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr

    def assert_clean(self) -> None:
        """No traceback, and every error line is one line naming what went wrong."""
        assert "Traceback" not in self.stderr and "Traceback" not in self.stdout, self.stderr


@pytest.fixture
def engines(monkeypatch: pytest.MonkeyPatch) -> list[FakeEngine]:
    """The CLI's engine cache, loading fake engines (each load recorded)."""
    loaded: list[FakeEngine] = []

    def load(options: TranscribeOptions) -> FakeEngine:
        loaded.append(FakeEngine(language=options.language or "en"))
        return loaded[-1]

    monkeypatch.setattr(api, "ENGINES", EngineCache(load))
    return loaded


def run(*args: str) -> Run:
    result = CliRunner().invoke(app, ["-q", "run", *args])
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def folder(speech_clip: Path, tmp_path: Path) -> Path:
    root = tmp_path / "in"
    root.mkdir()
    shutil.copy(speech_clip, root / "good.mp4")
    return root


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    """Four copies of the sample video: a batch long enough to be interrupted after its first item."""
    folder = tmp_path / "videos"
    folder.mkdir()
    for n in range(4):
        shutil.copy(REPO / "samples" / "jfk.mp4", folder / f"v{n}.mp4")
    return folder


def report_of(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


# ---------------------------------------------------------------- 1, 2: names and languages on disk


def test_1_two_files_with_one_stem_both_report_truthfully(folder, engines, tmp_path):
    shutil.copy(folder / "good.mp4", folder / "good.wav")
    report = tmp_path / "r.json"
    outcome = run(str(folder), "--report", str(report))
    outcome.assert_clean()
    assert outcome.exit_code == 1
    items = {Path(i["source"]).name: i for i in report_of(report)["items"]}
    assert items["good.mp4"]["status"] == "ok" and items["good.mp4"]["outputs"] == [str(folder / "good.en.srt")]
    assert items["good.wav"]["status"] == "failed" and "would be named like those of" in items["good.wav"]["error"]


def test_2_a_subtitle_in_another_language_does_not_block_generation(folder, engines):
    (folder / "good.de.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHallo\n", encoding="utf-8")
    outcome = run(str(folder / "good.mp4"))
    assert outcome.exit_code == 0 and (folder / "good.en.srt").is_file()
    assert (folder / "good.de.srt").read_text(encoding="utf-8").endswith("Hallo\n")


# ---------------------------------------------------------------- 3, 4: code execution, tracebacks

MARKER = "subgen-pwned"


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


@pytest.mark.model  # imports torch to try the load
@pytest.mark.parametrize("kind", ["payload", "not-a-checkpoint"])
def test_3_a_pickle_with_code_is_refused_and_never_run(folder, tmp_path, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(_Payload()) if kind == "payload" else os.urandom(4096))
    outcome = run(str(folder / "good.mp4"), "--model", str(evil))
    outcome.assert_clean()
    assert not (tmp_path / MARKER).exists(), "the pickle's payload ran"
    assert outcome.exit_code == 1 and "not a loadable openai-whisper checkpoint" in outcome.stderr
    assert "only plain weights are loaded" in outcome.stderr


def test_4_a_looping_link_in_a_scanned_folder_fails_alone(folder, engines):
    (folder / "loop.mp4").symlink_to(folder / "loop.mp4")
    outcome = run(str(folder))
    outcome.assert_clean()
    assert outcome.exit_code == 1 and "a broken or looping symbolic link" in outcome.stderr
    assert (folder / "good.en.srt").is_file()


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x01binary\x00", "caf\u00e9.mp4\n".encode("latin-1")])
def test_4_a_list_that_is_not_utf8_text_fails_alone(folder, engines, tmp_path, content):
    listing = tmp_path / "list.txt"
    listing.write_bytes(content)
    outcome = run(f"@{listing}", str(folder / "good.mp4"))
    outcome.assert_clean()
    assert outcome.exit_code == 1 and "not a text list" in outcome.stderr and str(listing) in outcome.stderr
    assert (folder / "good.en.srt").is_file()


@pytest.mark.parametrize("kind", ["file", "under-a-file"])
def test_4_an_unusable_model_cache_is_one_line(folder, engines, tmp_path, monkeypatch, kind):
    blocker = tmp_path / "cache-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SUBGEN_CACHE_DIR", str(blocker if kind == "file" else blocker / "sub"))
    outcome = run(str(folder / "good.mp4"), "--model", "base")  # base is joined into the cache once
    outcome.assert_clean()
    assert outcome.exit_code == 2 and "cannot write the model cache" in outcome.stderr
    assert "SUBGEN_CACHE_DIR" in outcome.stderr and engines == []


@pytest.mark.model
def test_4_a_second_ctrl_c_during_shutdown_leaves_no_traceback(tmp_path, videos):
    argv = [sys.executable, "-m", "subgen", "run", str(videos), "--model", "tiny.en", "--batch-size", "1"]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait for a state: the first item is done
        if (b"files" in line and b"1/4" in line) or (videos / "v0.en.srt").exists():
            break
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read().decode("utf-8", "replace")
    assert proc.wait(timeout=120) == 130
    assert "Traceback" not in rest and "interrupted: finished subtitles are kept" in rest


# ---------------------------------------------------------------- 5: destinations checked before the work


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("output-is-a-file", "is a file, not a folder"),
        ("output-under-a-file", "is a file, not a folder"),
        ("report-is-a-folder", "would replace a folder"),
        ("report-in-missing-folders", "does not exist"),
        ("download-dir-is-a-file", "is a file, not a folder"),
    ],
)
def test_5_unusable_destinations_stop_the_run_before_any_model_loads(folder, engines, tmp_path, case, message):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    args = {
        "output-is-a-file": ["-o", str(blocker)],
        "output-under-a-file": ["-o", str(blocker / "subs")],
        "report-is-a-folder": ["--report", str(tmp_path)],
        "report-in-missing-folders": ["--report", str(tmp_path / "no" / "such" / "r.json")],
        "download-dir-is-a-file": ["--download-dir", str(blocker)],
    }[case]
    outcome = run(str(folder / "good.mp4"), *args)
    outcome.assert_clean()
    assert outcome.exit_code == 2 and message in outcome.stderr, outcome.stderr
    assert engines == [] and not (folder / "good.en.srt").exists(), "nothing was decoded"
    assert not (tmp_path / "no").exists(), "no folders were made for the report"


def test_5_a_report_is_written_even_when_items_fail(folder, engines, tmp_path):
    report = tmp_path / "r.json"
    outcome = run(str(folder / "missing.mp4"), "--report", str(report))
    assert outcome.exit_code == 1 and report_of(report)["totals"]["failed"] == 1


# ---------------------------------------------------------------- 6: names


@pytest.mark.parametrize("stem_bytes", [228, 240, 248])
def test_6_long_names_are_written(folder, engines, stem_bytes):
    stem = "é" * (stem_bytes // 2)
    long = folder / f"{stem}.mp4"
    shutil.copy(folder / "good.mp4", long)
    outcome = run(str(long))
    outcome.assert_clean()
    assert outcome.exit_code == 0 and (folder / f"{stem}.en.srt").is_file()
    assert not [p for p in folder.iterdir() if p.name.endswith(".subgen-tmp")]


def test_6_a_file_name_that_is_not_utf8_keeps_the_summary_and_the_report(folder, engines, tmp_path):
    raw = os.fsdecode(b"caf\xe9 \xff.mp4")
    shutil.copy(folder / "good.mp4", folder / raw)
    report = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["run", str(folder / raw), "--report", str(report)])
    assert "Traceback" not in result.stderr and result.exit_code == 0, result.stderr
    assert "caf\\xe9 \\xff.mp4" in result.stderr, "the summary shows the name, undecodable bytes escaped"
    [item] = report_of(report)["items"]
    assert item["status"] == "ok" and item["source"].endswith("caf\\xe9 \\xff.mp4")
    assert (folder / os.fsdecode(b"caf\xe9 \xff.en.srt")).is_file()


# ---------------------------------------------------------------- 7: silent partial work


def test_7_a_truncated_file_says_so(folder, engines, tmp_path):
    from conftest import ffmpeg

    long = tmp_path / "long.mkv"
    ffmpeg("-i", str(folder / "good.mp4"), "-af", "apad=pad_dur=8", "-c:v", "copy", "-c:a", "flac", str(long))
    cut = folder / "cut.mkv"
    cut.write_bytes(long.read_bytes()[: long.stat().st_size // 3])  # the header still says the full length
    report = tmp_path / "r.json"
    outcome = run(str(cut), "--report", str(report))
    assert outcome.exit_code == 0
    [item] = report_of(report)["items"]
    assert item["warnings"] and "may be truncated" in item["warnings"][0] and "cut.mkv" in item["warnings"][0]


def test_7_a_picture_longer_than_the_sound_is_no_truncation(engines, tmp_path):
    report = tmp_path / "r.json"
    outcome = run(str(REPO / "samples" / "jfk.mp4"), "-o", str(tmp_path / "out"), "--report", str(report))
    assert outcome.exit_code == 0
    assert report_of(report)["items"][0]["warnings"] == [], "jfk.mp4's picture runs 6 s past its sound"


def test_7_speech_on_the_second_audio_track_is_found(speech_clip, engines, tmp_path):
    from conftest import ffmpeg

    two = tmp_path / "two.mkv"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-i", str(speech_clip), "-map", "0:a", "-map", "1:a",
           "-t", "3", "-c:a", "flac", str(two))  # fmt: skip
    outcome = run(str(two), "--format", "json")
    assert outcome.exit_code == 0
    data = json.loads((tmp_path / "two.en.json").read_text(encoding="utf-8"))
    assert data["segments"], "the silent default track was passed over for the one with speech"


def test_7_an_empty_list_fails_instead_of_doing_nothing(engines, tmp_path):
    listing = tmp_path / "todo.txt"
    listing.write_text("# nothing yet\n\n", encoding="utf-8")
    outcome = run(f"@{listing}")
    outcome.assert_clean()
    assert outcome.exit_code == 1 and "the list names no inputs" in outcome.stderr


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_7_fifos_and_devices_are_named_as_such(engines, tmp_path, kind):
    if kind == "fifo":
        target = tmp_path / "pipe.mp4"
        os.mkfifo(target)
    else:
        target = Path("/dev/zero")
    outcome = run(str(target))
    outcome.assert_clean()
    assert outcome.exit_code == 1 and "not a regular file" in outcome.stderr and str(target) in outcome.stderr


def test_7_skipped_subfolders_are_reported(folder, engines, tmp_path, caplog):
    (tmp_path / "elsewhere").mkdir()
    (folder / "linked").symlink_to(tmp_path / "elsewhere")
    outcome = CliRunner().invoke(app, ["run", str(folder)])
    assert outcome.exit_code == 0
    assert "linked folder not followed" in outcome.stderr and "linked" in outcome.stderr


# ---------------------------------------------------------------- 8: hangs


@pytest.mark.parametrize(("flag", "value"), [("--beam-size", "100000"), ("--batch-size", "100000")])
def test_8_absurd_numbers_are_usage_errors(folder, engines, flag, value):
    outcome = run(str(folder / "good.mp4"), flag, value)
    outcome.assert_clean()
    assert outcome.exit_code == 2 and f"{flag} must be between" in outcome.stderr and engines == []


def _slow_server(chunk: bytes, gap: float) -> tuple[ThreadingHTTPServer, threading.Event]:
    """A loopback server whose one file never ends: ``chunk`` every ``gap`` seconds until released."""
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            while not release.is_set():
                try:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                except OSError:
                    return
                release.wait(gap)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, release


@pytest.mark.parametrize(
    ("chunk", "limits", "reason"),
    [
        (b"\0", DownloadLimits(stall=2.0), "stalled: less than 16 KiB in"),  # one byte now and then
        (b"\0" * 65536, DownloadLimits(stall=60.0, total=2.0), "took longer than 2 s"),  # steady, never ending
    ],
    ids=["trickle", "endless"],
)
def test_8_a_download_that_never_finishes_is_abandoned_with_a_reason(tmp_path, chunk, limits, reason):
    from subgen.sources.download import download

    server, release = _slow_server(chunk, 0.2)
    url = f"http://127.0.0.1:{server.server_port}/slow.mp4"
    try:
        with pytest.raises(DownloadError, match=reason) as info:
            download(url, tmp_path / "dl", limits=limits)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    assert url in str(info.value) and "try again later" in str(info.value)
    assert not [p for p in (tmp_path / "dl").iterdir() if not p.name.endswith(".part")], "nothing but a .part"


# ---------------------------------------------------------------- 9: SIGTERM and dead runs' scratch


def test_9_scratch_of_dead_runs_is_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{PREFIX}{int(dead.stdout)}-abc"
    (stale / "0").mkdir(parents=True)
    (stale / "0" / "audio.f32").write_bytes(b"\0" * 1024)
    mine = tmp_path / f"{PREFIX}{os.getpid()}-def"
    mine.mkdir()
    foreign = tmp_path / f"{PREFIX}notapid"
    foreign.mkdir()
    assert remove_dead_scratch(tmp_path) == [stale]
    assert not stale.exists() and mine.exists() and foreign.exists()


@pytest.mark.model
def test_9_sigterm_stops_like_ctrl_c_with_a_report(tmp_path, videos):
    report = tmp_path / "r.json"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    argv = [sys.executable, "-m", "subgen", "-q", "run", str(videos), "--model", "tiny.en", "--batch-size", "1",
            "--report", str(report)]  # fmt: skip
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, env=env)
    while not (videos / "v0.en.srt").exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        threading.Event().wait(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err and b"interrupted" in err
    assert report_of(report)["interrupted"] is True
    assert not list(tmp_path.glob(f"{PREFIX}*")), "the run's scratch audio is gone"


# ---------------------------------------------------------------- 11: a full disk


def test_11_a_full_disk_is_named_not_conversion_failed(tmp_path):
    from subgen.audio.media import _failure

    error = _failure(tmp_path / "a.mp4", b"[out#0/f32le] Error writing: No space left on device\nConversion failed!\n",
                     tmp_path)  # fmt: skip
    assert isinstance(error, MediaError) and "no space left on the disk of" in str(error) and "TMPDIR" in str(error)


def test_options_are_checked_in_the_api_too():
    with pytest.raises(UsageError, match="--beam-size must be between 1 and 20"):
        TranscribeOptions(beam_size=100000)


# ---------------------------------------------------------------- 10: video


@pytest.fixture
def short_video(tmp_path: Path) -> Path:
    from conftest import ffmpeg

    video = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=160x90:r=10", "-f", "lavfi", "-i", "sine=f=300", "-t", "2",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(video))  # fmt: skip
    return video


def _srt_file(path: Path, *cues: tuple[float, float, str]) -> Path:
    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    path.write_text("\n".join(f"{n}\n{stamp(a)} --> {stamp(b)}\n{text}\n" for n, (a, b, text) in enumerate(cues, 1)),
                    encoding="utf-8")  # fmt: skip
    return path


def test_10_burn_then_embed_on_one_file_both_act(short_video, tmp_path):
    subs = _srt_file(tmp_path / "clip.en.srt", (0.2, 1.5, "Hello"))
    burned = CliRunner().invoke(app, ["burn", str(short_video), str(subs)])
    embedded = CliRunner().invoke(app, ["embed", str(short_video), str(subs)])
    assert burned.exit_code == 0 and embedded.exit_code == 0, (burned.stderr, embedded.stderr)
    assert burned.stdout.strip() == str(tmp_path / "clip.burned.mp4")
    assert embedded.stdout.strip() == str(tmp_path / "clip.subtitled.mp4") and "exists" not in embedded.stderr
    assert (tmp_path / "clip.burned.mp4").is_file() and (tmp_path / "clip.subtitled.mp4").is_file()


def test_10_cues_past_the_video_end_are_clipped_not_refused(short_video, tmp_path):
    from subgen.audio.media import probe
    from subgen.subtitles.io import read_cues

    subs = _srt_file(tmp_path / "clip.en.srt", (0.2, 1.0, "Inside"), (1.5, 9.0, "Runs past the end"), (5, 6, "After"))
    result = CliRunner().invoke(app, ["embed", str(short_video), str(subs)])
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "clip.subtitled.mp4"
    assert probe(out).subtitle_languages == ("eng",)
    back = tmp_path / "back.srt"
    from conftest import ffmpeg

    ffmpeg("-i", str(out), "-map", "0:s:0", str(back))
    cues = read_cues(back)
    assert [c.lines for c in cues] == [("Inside",), ("Runs past the end",)]
    assert cues[-1].end <= probe(short_video).duration + 0.05


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "no cues to burn in"), ("meeting notes, not subtitles\n" * 3, "not valid SubRip")],
)
def test_10_burning_something_that_is_not_subtitles_fails(short_video, tmp_path, content, message):
    subs = tmp_path / "notes.srt"
    subs.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["burn", str(short_video), str(subs)])
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "clip.burned.mp4").exists()


# ---------------------------------------------------------------- random names and bytes

_NAME = st.text(
    alphabet=st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda n: n not in (".", "..") and not n.startswith((".", "~")))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(_NAME, min_size=1, max_size=3, unique_by=lambda n: n.casefold()),
    blobs=st.lists(st.binary(max_size=3000), min_size=3, max_size=3),
    # A list's lines stay inside the test's folder (a random "/" line would scan the whole disk): undecodable
    # bytes, or names relative to the list.
    listing=st.one_of(
        st.binary(max_size=300).map(lambda b: b"\xff" + b),
        st.lists(_NAME, max_size=4).map(lambda names: "\n".join(names).encode("utf-8", "surrogateescape")),
    ),
    ext=st.sampled_from([".mp4", ".wav", ".mkv", ".mp3"]),
)
def test_random_names_and_bytes_never_crash_or_litter(speech_clip, engines, tmp_path_factory, names, blobs, listing,
                                                     ext):  # fmt: skip
    root = tmp_path_factory.mktemp("random")
    folder = root / "in"
    folder.mkdir()
    shutil.copy(speech_clip, folder / "good.mp4")
    made = []
    for name, blob in zip(names, blobs, strict=False):
        path = folder / f"{name}{ext}"
        if path.name == "good.mp4" or len(os.fsencode(path.name)) > 255:
            continue
        path.write_bytes(blob)
        made.append(path)
    (root / "list.txt").write_bytes(listing)
    before = files_under(root)
    outcome = run(str(folder), f"@{root / 'list.txt'}")
    outcome.assert_clean()
    assert outcome.exit_code in (0, 1), outcome.stderr
    after = files_under(root)
    added = after - before
    assert "in/good.en.srt" in added, outcome.stderr
    allowed = {"in/.subgen-languages.json"} | {f"in/{p.stem}.en.srt" for p in made}
    assert added <= allowed | {"in/good.en.srt"}, added - allowed
    assert not [n for n in after if n.endswith(".subgen-tmp")]
