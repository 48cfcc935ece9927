"""What a submission asks for: ``subgen run``'s options as JSON, checked and normalised; the keys that make a
repeated submission the same job; server-side paths confined to ``--allow-root``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from subgen.core.options import (
    OutputOptions,
    RunOptions,
    SubtitleStyle,
    TranscribeOptions,
    parse_tracks,
    preset_options,
)
from subgen.service.errors import BadRequest, Forbidden, NotFound

_STR, _BOOL, _INT, _NUM, _FORMATS = "a string", "true or false", "an integer", "a number", "a format list"
OPTION_TYPES: dict[str, tuple[str, bool]] = {
    # name: (expected type, null allowed)
    "model": (_STR, False),
    "engine": (_STR, False),
    "device": (_STR, False),
    "language": (_STR, True),
    "task": (_STR, False),
    "initial_prompt": (_STR, True),
    "vad": (_BOOL, False),
    "condition_on_previous_text": (_BOOL, False),
    "beam_size": (_INT, False),
    "window": (_NUM, False),
    "preset": (_STR, False),
    "max_chars": (_INT, False),
    "max_lines": (_INT, False),
    "max_cps": (_NUM, True),
    "min_duration": (_NUM, False),
    "max_duration": (_NUM, False),
    "min_gap": (_NUM, True),
    "format": (_FORMATS, False),
    "overwrite": (_BOOL, False),
    "output_dir": (_STR, True),
    "tracks": (_STR, True),
    "font": (_STR, False),
    "font_size": (_NUM, False),
    "outline": (_NUM, False),
    "position": (_STR, False),
    "margin": (_INT, False),
    "ass_style": (_STR, True),
}
"""Every ``subgen run`` option a job may set (flag names with underscores)."""
SERVED = ("model", "engine", "device")
"""Options fixed by the server: one engine is loaded, and every job decodes with it."""
NOT_HERE = {
    "burn": "burn-in", "embed": "embedding", "in_place": "embedding", "keep_video": "keeping videos",
    "fonts_dir": "burn-in", "crf": "burn-in", "batch_size": "the batch size (set by the server)",
    "download_dir": "choosing a download folder",
}  # fmt: skip
_CUE_KEYS = ("max_chars", "max_lines", "max_cps", "min_duration", "max_duration", "min_gap")
_TRANSCRIBE_KEYS = ("language", "task", "initial_prompt", "vad", "condition_on_previous_text", "beam_size", "window")


def parse_json_options(text: str | None) -> dict[str, Any]:
    """The ``options`` form field of an upload (JSON text; empty means defaults)."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"options is not valid JSON ({exc.msg} at character {exc.pos})", param="options") from exc
    return check_options(value)


def check_options(value: Any) -> dict[str, Any]:
    """The options object with every key known and every value of the right type (formats as a list)."""
    if not isinstance(value, dict):
        raise BadRequest('options must be a JSON object, e.g. {"language": "en"}', param="options")
    checked = {}
    for key, item in value.items():
        if key in NOT_HERE:
            raise BadRequest(f"the service does not offer {NOT_HERE[key]} ('{key}'); use the CLI", param=key)
        if key not in OPTION_TYPES:
            raise BadRequest(f"unknown option '{key}'; choose from {', '.join(sorted(OPTION_TYPES))}", param=key)
        checked[key] = _checked(key, item)
    return checked


def _checked(key: str, value: Any) -> Any:
    kind, nullable = OPTION_TYPES[key]
    if value is None and nullable:
        return None
    if kind == _FORMATS:
        parts = value.split(",") if isinstance(value, str) else value
        if isinstance(parts, list) and all(isinstance(p, str) for p in parts):
            return [p.strip().lower() for p in parts if p.strip()]
    elif kind == _BOOL and isinstance(value, bool):
        return value
    elif kind == _INT and type(value) is int:
        return int(value)
    elif kind == _NUM and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    elif kind == _STR and isinstance(value, str):
        return value
    raise BadRequest(f"option '{key}' must be {kind}{' or null' if nullable else ''}, not {value!r}", param=key)


def run_options(options: dict[str, Any], served: TranscribeOptions) -> RunOptions:
    """The ``RunOptions`` a job's checked options describe, decoding with the served engine."""
    for key in SERVED:
        if key in options and options[key] != getattr(served, key):
            raise BadRequest(
                f"this server serves {key} '{getattr(served, key)}', not '{options[key]}'; start a server with "
                f"--{key} {options[key]} for that",
                param=key,
                code="model_not_found" if key == "model" else None,
            )
    transcribe = replace(served, **{k: options[k] for k in _TRANSCRIBE_KEYS if k in options})
    cues = preset_options(options.get("preset", "netflix"), **{k: options[k] for k in _CUE_KEYS if k in options})
    style = SubtitleStyle(**{f.name: options[f.name] for f in dataclasses.fields(SubtitleStyle) if f.name in options})
    output_dir = Path(options["output_dir"]) if options.get("output_dir") else None
    formats = tuple(options.get("format", ["srt"]))
    output = OutputOptions(formats=formats, output_dir=output_dir, overwrite=options.get("overwrite", False))
    tracks = parse_tracks(options.get("tracks"), transcribe.task)
    run = RunOptions(transcribe=transcribe, cues=cues, output=output, tracks=tracks)
    return replace(run, video=replace(run.video, style=style))


def canonical(run: RunOptions) -> dict[str, Any]:
    """What decides a job's outputs, as plain JSON values: equal for option sets that differ only in spelling."""
    data = {
        "transcribe": dataclasses.asdict(run.transcribe),
        "cues": dataclasses.asdict(run.cues),
        "formats": sorted(run.output.formats),
        "overwrite": run.output.overwrite,
        "output_dir": str(run.output.output_dir) if run.output.output_dir else None,
        "tracks": list(run.tracks),
        "style": dataclasses.asdict(run.video.style),
    }
    return json.loads(json.dumps(data, default=str))


def content_key(kind: str, identity: str, run: RunOptions) -> str:
    """The key a repeated submission of the same media and options shares."""
    blob = json.dumps([kind, identity, canonical(run)], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def client_key(header: str | None) -> str | None:
    """The stored form of an ``Idempotency-Key`` header (None without one)."""
    if header is None:
        return None
    if not 1 <= len(header) <= 255:
        raise BadRequest("Idempotency-Key must be 1-255 characters", param="Idempotency-Key")
    return hashlib.sha256(f"client|{header}".encode()).hexdigest()


def inside(path: Path, roots: tuple[Path, ...]) -> bool:
    """True when ``path`` (already resolved) is one of ``roots`` or below one."""
    return any(path == root or path.is_relative_to(root) for root in roots)


def allowed_path(raw: str, roots: tuple[Path, ...], *, must_exist: bool = True, param: str = "path") -> Path:
    """``raw`` (absolute, or relative to the first root) with symlinks and ``..`` resolved, if it lies inside a
    root; ``Forbidden`` otherwise, ``NotFound`` when ``must_exist`` and it does not."""
    if not roots:
        raise Forbidden("server-side paths are switched off; start the server with --allow-root DIR", param=param)
    if not raw or "\x00" in raw:
        raise BadRequest(f"{param} must be a non-empty path", param=param)
    given = Path(raw).expanduser()
    candidate = given if given.is_absolute() else roots[0] / given
    resolved = Path(os.path.realpath(candidate))
    if not inside(resolved, roots):
        raise Forbidden(f"{raw}: outside the folders this server may use (--allow-root)", param=param)
    if must_exist and not resolved.exists():
        raise NotFound(f"{raw}: no such file or folder under the allowed roots", param=param)
    return resolved


def path_identity(path: Path, files: list[Path]) -> str:
    """A server-side input as a key: its path and each media file's size and modification time, so a changed or
    added file makes a new job while a repeat of the same request joins the first."""
    stats = []
    for f in files:
        try:
            st = f.stat()
            stats.append([str(f), st.st_size, st.st_mtime_ns])
        except OSError:
            stats.append([str(f), None, None])
    return json.dumps([str(path), stats])
