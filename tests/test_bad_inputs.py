"""Bad inputs and odd filenames in one real batch: each bad item fails alone with a one-line error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ffmpeg
from typer.testing import CliRunner

from subgen.cli import app

ODD_NAMES = [
    "with space.mp4",
    "quote'single.mp4",
    'quote"double.mp4',
    "colon:name.mp4",
    "brackets [1].mp4",
    "semi;comma,percent%.mp4",
    "ünïcödé 日本語.mp4",
    "-leading-dash.mp4",
]


def _missing(folder: Path, clip: Path) -> Path:
    return folder / "missing.mp4"


def _empty(folder: Path, clip: Path) -> Path:
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return path


def _truncated(folder: Path, clip: Path) -> Path:
    path = folder / "truncated.mp4"
    path.write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
    return path


def _not_media(folder: Path, clip: Path) -> Path:
    path = folder / "notes.mp4"
    path.write_text("These are meeting notes, not a video.\n" * 50, encoding="utf-8")
    return path


def _no_audio(folder: Path, clip: Path) -> Path:
    path = folder / "silent-film.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=blue:s=64x64:r=5", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)
    )
    return path


BAD = {
    "missing": (_missing, "check the path"),
    "empty": (_empty, "empty"),
    "truncated": (_truncated, "complete"),
    "not media": (_not_media, "not a readable media file"),
    "no audio stream": (_no_audio, "no audio stream"),
}


@pytest.fixture(scope="module")
def batch(cards_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("bad")
    bad_paths = {case: make(folder, cards_clip) for case, (make, _) in BAD.items()}
    odd_paths = [folder / name for name in ODD_NAMES]
    for path in odd_paths:
        shutil.copy(cards_clip, path)
    report = folder / "report.json"
    inputs = [str(p) for p in bad_paths.values()] + [str(p) for p in odd_paths]
    result = CliRunner().invoke(app, ["run", "--model", "tiny.en", "--report", str(report), "--", *inputs])
    items = {Path(i["source"]).name: i for i in json.loads(report.read_text())["items"]}
    return {"result": result, "items": items, "bad": bad_paths, "odd": odd_paths}


def test_batch_exits_1_and_keeps_going(batch):
    assert batch["result"].exit_code == 1
    assert len(batch["items"]) == len(BAD) + len(ODD_NAMES)


@pytest.mark.parametrize("case", list(BAD))
def test_bad_item_fails_with_one_line_naming_it(batch, case):
    path = batch["bad"][case]
    item = batch["items"][path.name]
    assert item["status"] == "failed"
    error = item["error"]
    assert "\n" not in error and str(path) in error
    assert BAD[case][1] in error, error
    shown = [line for line in batch["result"].stderr.splitlines() if path.name in line and "ERROR" in line]
    assert len(shown) == 1, f"exactly one error line on stderr for {path.name}"


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_filenames_get_subtitles(batch, name):
    item = batch["items"][name]
    assert item["status"] == "ok", item["error"]
    srt = Path(item["outputs"][0])
    assert srt.name == Path(name).stem + ".en.srt"
    assert "clubs" in srt.read_text(encoding="utf-8").lower()


def test_no_partial_outputs_for_failed_items(batch):
    for path in batch["bad"].values():
        assert not list(path.parent.glob(f"{path.stem}.*.srt"))
    assert not list(next(iter(batch["bad"].values())).parent.glob("*subgen-tmp"))
