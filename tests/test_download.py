"""yt-dlp for real against a loopback HTTP server: direct media, an RSS playlist, HTML5 pages, 404s, the CLI."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import socket
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subgen.audio.media import ffmpeg_exe, probe
from subgen.core.errors import DownloadError
from subgen.core.events import DownloadProgress
from subgen.sources.download import ARCHIVE_NAME, download, expand_url
from subgen.sources.inputs import MediaItem

GOOD = ("clip.mp4", "second.mp4")
MISSING = "missing.mp4"
ENTRIES = (*GOOD, MISSING)
HOSTILE_TITLE = "../../escaped: it&#39;s &quot;x&quot; / y\\z"


@dataclass
class MediaServer:
    """A running loopback server and the GET requests it has answered, by path."""

    root: Path
    base: str
    gets: Counter[str] = field(default_factory=Counter)

    def url(self, name: str) -> str:
        """The URL of a file in the served folder."""
        return f"{self.base}/{name}"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder, counts GETs and keeps the test output quiet."""

    def do_GET(self) -> None:
        self.server.gets[self.path] += 1  # type: ignore[attr-defined]
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _make_clip(audio: Path, out: Path) -> None:
    """A 3-second H.264/AAC mp4: a solid colour with the spoken card clip, padded with silence."""
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    argv += ["-f", "lavfi", "-i", "color=c=0x203040:s=160x90:r=10", "-i", str(audio), "-map", "0:v", "-map", "1:a"]
    argv += ["-af", "apad", "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    argv += ["-c:a", "aac", "-b:a", "64k", "-ac", "1", str(out)]
    subprocess.run(argv, check=True)


def _make_hls(audio: Path, folder: Path) -> None:
    """An HLS stream whose audio is a separate rendition, so "audio only" really skips the picture."""
    folder.mkdir()
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    argv += ["-f", "lavfi", "-i", "color=c=0x203040:s=160x90:r=10", "-i", str(audio), "-map", "0:v", "-map", "1:a"]
    argv += ["-af", "apad", "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    argv += ["-c:a", "aac", "-b:a", "64k", "-ac", "1", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"]
    argv += ["-master_pl_name", "master.m3u8", "-var_stream_map", "v:0,agroup:aud a:0,agroup:aud,default:yes"]
    subprocess.run([*argv, str(folder / "stream_%v.m3u8")], check=True)


def _rss(server: MediaServer) -> str:
    items = "".join(
        f"<item><title>Episode {n}</title><guid>episode-{n}</guid>"
        f'<enclosure url="{server.url(name)}" type="video/mp4" length="12345"/></item>'
        for n, name in enumerate(ENTRIES, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Cards</title>'
        f"<link>{server.base}/</link><description>test feed</description>{items}</channel></rss>"
    )


def _html5_page() -> str:
    videos = "".join(f'<video src="{name}"></video>' for name in ENTRIES)
    return f"<!DOCTYPE html><html><head><title>Cards</title></head><body>{videos}</body></html>"


@pytest.fixture(scope="module")
def server(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaServer]:
    """Serves clip.mp4, second.mp4, feed.xml (RSS) and page.html (HTML5 video tags) on 127.0.0.1."""
    root = tmp_path_factory.mktemp("www")
    _make_clip(corpus / "en_pocketsphinx_cards_001.wav", root / GOOD[0])
    shutil.copyfile(root / GOOD[0], root / GOOD[1])
    (root / "other").mkdir()
    shutil.copyfile(root / GOOD[0], root / "other" / GOOD[0])
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    media = MediaServer(root, f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.gets = media.gets  # type: ignore[attr-defined]
    (root / "feed.xml").write_text(_rss(media), encoding="utf-8")
    (root / "page.html").write_text(_html5_page(), encoding="utf-8")
    (root / "single.html").write_text(
        f"<!DOCTYPE html><html><head><title>{HOSTILE_TITLE}</title></head>"
        '<body><video src="clip.mp4"></video></body></html>',
        encoding="utf-8",
    )
    _make_hls(corpus / "en_pocketsphinx_cards_001.wav", root / "hls")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield media
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_direct_media_url_downloads_a_file_ffmpeg_can_read(server: MediaServer, tmp_path: Path):
    events: list[DownloadProgress] = []
    path = download(server.url("clip.mp4"), tmp_path / "dl", events.append)
    assert path.is_file() and path.parent == tmp_path / "dl"
    info = probe(path)
    assert (info.audio_streams, info.video_streams) == (1, 1)
    assert info.duration == pytest.approx(3.0, abs=0.3)
    assert events and all(isinstance(e, DownloadProgress) for e in events), "yt-dlp's dicts stay inside download.py"
    assert events[-1].done == events[-1].total == path.stat().st_size and events[-1].url == server.url("clip.mp4")
    assert not list(path.parent.glob("*.part"))


def test_second_download_of_the_same_url_reuses_the_file(server: MediaServer, tmp_path: Path):
    url = server.url("second.mp4")
    path = download(url, tmp_path)
    first_gets, before = server.gets["/second.mp4"], path.stat()
    again = download(url, tmp_path)
    second_gets, after = server.gets["/second.mp4"] - first_gets, again.stat()
    assert again == path
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # The download archive knows the URL, so a rerun does not even ask the server.
    assert first_gets >= 1 and second_gets == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, ARCHIVE_NAME])


def test_archive_is_keyed_by_extractor_and_id(server: MediaServer, tmp_path: Path):
    path = download(server.url("second.mp4"), tmp_path)
    archive = json.loads((tmp_path / ARCHIVE_NAME).read_text(encoding="utf-8"))
    [(key, entry)] = archive["files"].items()
    assert key.startswith("generic second-") and entry == {"file": path.name, "video": True}
    # Without the URL shortcut yt-dlp identifies the URL again, and the key still finds the file.
    (tmp_path / ARCHIVE_NAME).write_text(json.dumps({"files": archive["files"], "urls": {}}), encoding="utf-8")
    gets = server.gets["/second.mp4"]
    assert download(server.url("second.mp4"), tmp_path) == path
    assert server.gets["/second.mp4"] - gets <= 1, "only yt-dlp's identification request, no media transfer"


def test_audio_only_unless_the_picture_is_needed(server: MediaServer, tmp_path: Path):
    url = server.url("hls/master.m3u8")
    audio = download(url, tmp_path / "audio")
    assert (probe(audio).video_streams, probe(audio).audio_streams) == (0, 1)
    assert not any(path.startswith("/hls/stream_0") for path in server.gets), "video segments were fetched"
    picture = download(url, tmp_path / "video", video=True)
    assert (probe(picture).video_streams, probe(picture).audio_streams) == (1, 1)


def test_an_audio_only_download_is_replaced_when_the_picture_is_needed(server: MediaServer, tmp_path: Path):
    url = server.url("hls/master.m3u8")
    audio = download(url, tmp_path)
    picture = download(url, tmp_path, video=True)
    assert probe(picture).video_streams == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({audio.name, picture.name, ARCHIVE_NAME})
    assert download(url, tmp_path) == picture, "a file with the picture also serves audio-only requests"


def test_titles_cannot_escape_the_download_folder_and_names_are_stable(server: MediaServer, tmp_path: Path):
    target = tmp_path / "a" / "b"
    path = download(server.url("single.html"), target)
    assert path.parent == target and path.is_file()
    assert "/" not in path.name and not path.name.startswith(".")
    assert path.name.startswith("escaped") and path.name.endswith(".mp4")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted([path.name, ARCHIVE_NAME])
    (target / ARCHIVE_NAME).unlink()
    assert download(server.url("single.html"), target) == path


@pytest.mark.parametrize("page", ["feed.xml", "page.html"], ids=["rss-enclosures", "html5-video-tags"])
def test_playlist_url_expands_to_one_item_per_entry(server: MediaServer, page: str):
    url = server.url(page)
    items = expand_url(MediaItem(source=url, url=url))
    assert [item.source for item in items] == [server.url(name) for name in ENTRIES]
    assert all(item.url and item.url.startswith(item.source) for item in items)
    assert not any(item.problem or item.path for item in items)


def test_playlist_entries_download_and_a_missing_one_fails(server: MediaServer, tmp_path: Path):
    url = server.url("feed.xml")
    good, bad = (i for i in expand_url(MediaItem(source=url, url=url)) if i.source.endswith(("clip.mp4", MISSING)))
    assert good.url is not None and bad.url is not None
    assert probe(download(good.url, tmp_path)).audio_streams == 1
    with pytest.raises(DownloadError) as caught:
        download(bad.url, tmp_path)
    assert str(caught.value).startswith(server.url(MISSING) + ":")
    assert "smuggle" not in str(caught.value)


def test_a_plain_media_url_expands_to_itself(server: MediaServer):
    item = MediaItem(source=server.url("clip.mp4"), url=server.url("clip.mp4"))
    assert expand_url(item) == [item]


def test_an_unreachable_url_expands_to_a_problem_item(server: MediaServer):
    url = server.url(MISSING)
    [item] = expand_url(MediaItem(source=url, url=url))
    assert item.problem and item.problem.startswith(url) and "404" in item.problem


@pytest.mark.parametrize(
    ("name", "why", "fix"),
    [
        (MISSING, "HTTP Error 404", "check the link"),
        ("no/such/folder/clip.mp4", "HTTP Error 404", "check the link"),
        ("feed.xml", "is a playlist", "entries"),
    ],
    ids=["missing-file", "missing-folder", "playlist-as-one-video"],
)
def test_download_errors_name_the_url_on_one_line_and_say_what_to_do(
    server: MediaServer, tmp_path: Path, name: str, why: str, fix: str
):
    url = server.url(name)
    with pytest.raises(DownloadError) as caught:
        download(url, tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{url}: ")
    assert "\n" not in message and why in message and fix in message
    assert "caused by" not in message and "ERROR" not in message
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_is_a_download_error(tmp_path: Path):
    with socket.socket() as probe_socket:  # a port that was just free, so nothing listens there
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    url = f"http://127.0.0.1:{port}/clip.mp4"
    with pytest.raises(DownloadError) as caught:
        download(url, tmp_path)
    assert str(caught.value).startswith(f"{url}: ") and "check the network" in str(caught.value)


def test_cli_run_on_a_feed_subtitles_the_good_entries_and_reports_the_missing_one(server: MediaServer, tmp_path: Path):
    import pysrt

    from subgen.cli import app

    out, report = tmp_path / "out", tmp_path / "report.json"
    argv = ["run", server.url("feed.xml"), "--model", "tiny.en", "--output-dir", str(out)]
    result = CliRunner().invoke(app, ["--quiet", *argv, "--report", str(report)])
    assert result.exit_code == 1, result.output

    srts = sorted(out.glob("*.en.srt"))
    assert [p.name.split(" ")[0] for p in srts] == ["clip", "second"]
    for srt in srts:
        text = " ".join(cue.text for cue in pysrt.open(str(srt), encoding="utf-8")).lower()
        assert "clubs" in text, f"{srt.name}: {text!r}"

    items = {item["source"]: item for item in json.loads(report.read_text(encoding="utf-8"))["items"]}
    assert list(items) == [server.url(name) for name in ENTRIES]
    assert [items[server.url(name)]["status"] for name in GOOD] == ["ok", "ok"]
    failed = items[server.url(MISSING)]
    assert failed["status"] == "failed" and server.url(MISSING) in failed["error"]


def test_same_file_name_under_different_urls_does_not_collide(server: MediaServer, tmp_path: Path):
    first = download(server.url("clip.mp4"), tmp_path)
    second = download(server.url("other/clip.mp4"), tmp_path)
    assert first != second and first.is_file() and second.is_file()
    assert download(server.url("other/clip.mp4"), tmp_path) == second, "names are stable across reruns"


def test_cli_run_burn_on_a_page_downloads_the_picture_once_and_extracts_once(server: MediaServer, tmp_path: Path):
    from subgen.cli import app

    out = tmp_path / "out"
    page_gets, clip_gets = server.gets["/single.html"], server.gets["/clip.mp4"]
    argv = ["--quiet", "run", server.url("single.html"), "--model", "tiny.en", "--burn", "-o", str(out)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    [video] = out.glob("*.burned.mp4")
    assert probe(video).video_streams == 1 and video.name.startswith("escaped")
    assert server.gets["/single.html"] - page_gets == 1, "the page was extracted more than once"
    assert server.gets["/clip.mp4"] - clip_gets == 1

    again = CliRunner().invoke(app, argv)
    assert again.exit_code == 0
    assert server.gets["/clip.mp4"] - clip_gets == 1, "a rerun downloaded the media again"


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        ("GeoRestrictedError", "geo-restriction"),
        ("ExtractorError", "removed or made private"),
    ],
)
def test_removed_and_geo_blocked_entries_get_their_own_hint(error: str, hint: str):
    """yt-dlp's own exception types and wording for the cases a loopback server cannot produce."""
    import yt_dlp.utils

    from subgen.sources.download import _failure

    message = {
        "GeoRestrictedError": "The uploader has not made this video available in your country",
        "ExtractorError": "[youtube] abc: Video unavailable. This video has been removed by the uploader",
    }[error]
    exc = getattr(yt_dlp.utils, error)(message)
    line = _failure("https://example.invalid/watch?v=abc", "download", exc)
    assert line.startswith("https://example.invalid/watch?v=abc: download failed (") and hint in line
