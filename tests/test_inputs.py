"""Input expansion: files, folders, globs, @lists, URLs, dedupe and output naming."""

from __future__ import annotations

from pathlib import Path

from subgen.core.paths import output_base
from subgen.sources.inputs import expand_inputs, mirror_base


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_folder_is_recursive_sorted_and_skips_hidden_and_non_media(tmp_path):
    _touch(tmp_path / "b.mp4")
    _touch(tmp_path / "a" / "z.mkv")
    _touch(tmp_path / "a" / "notes.txt")
    _touch(tmp_path / ".cache" / "hidden.mp4")
    _touch(tmp_path / ".hidden.mp4")
    items = expand_inputs([str(tmp_path)])
    assert [i.path.relative_to(tmp_path).as_posix() for i in items] == ["a/z.mkv", "b.mp4"]
    assert all(i.root == tmp_path for i in items)


def test_globs_lists_urls_and_dedupe(tmp_path):
    one = _touch(tmp_path / "one.mp4")
    _touch(tmp_path / "sub" / "two.webm")
    listing = tmp_path / "list.txt"
    listing.write_text("# comment\n\none.mp4\nhttps://example.invalid/v?id=1\n", encoding="utf-8")
    items = expand_inputs([str(tmp_path / "**" / "*.webm"), f"@{listing}", str(one)])
    assert items[0].source.endswith("two.webm")
    assert items[1].path == one
    assert items[2].url == "https://example.invalid/v?id=1"
    assert len(items) == 3, "the second mention of one.mp4 is a duplicate"


def test_problems_become_items_not_exceptions(tmp_path):
    items = expand_inputs([str(tmp_path / "missing.mp4"), str(tmp_path / "*.nothing"), f"@{tmp_path}/nolist.txt"])
    assert [bool(i.problem) for i in items] == [True, True, True]
    assert "no such file" in items[0].problem and "matches no media" in items[1].problem
    assert "cannot read list file" in items[2].problem


def test_file_with_glob_characters_in_its_name_is_taken_literally(tmp_path):
    odd = _touch(tmp_path / "clip [1080p].mp4")
    assert [i.path for i in expand_inputs([str(odd)])] == [odd]


def test_output_next_to_source_by_default(tmp_path):
    media = tmp_path / "talk.final.mp4"
    assert output_base(media, tmp_path, None, None) == tmp_path / "talk.final"


def test_output_dir_mirrors_tree_and_never_collides(tmp_path):
    a = _touch(tmp_path / "in" / "a" / "clip.mp4")
    b = _touch(tmp_path / "in" / "b" / "clip.mp4")
    items = expand_inputs([str(a), str(b)])
    base = mirror_base(items)
    out = tmp_path / "out"
    bases = [output_base(i.path, i.root, out, base) for i in items]
    assert bases == [out / "a" / "clip", out / "b" / "clip"]
    folder_items = expand_inputs([str(tmp_path / "in")])
    folder_base = mirror_base(folder_items)
    assert [output_base(i.path, i.root, out, folder_base) for i in folder_items] == bases
