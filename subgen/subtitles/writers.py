"""Render cues and transcripts to subtitle formats, and write them atomically."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from subgen.core.options import SubtitleStyle
from subgen.core.paths import atomic_write
from subgen.core.types import Cue, Transcript
from subgen.subtitles.ass import render as render_ass

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Document:
    """Everything a writer may render: the cues and the transcript they came from."""

    cues: tuple[Cue, ...]
    transcript: Transcript
    style: SubtitleStyle = field(default_factory=SubtitleStyle)


def _srt(doc: Document) -> str:
    import pysrt

    subs = pysrt.SubRipFile()
    for index, cue in enumerate(doc.cues, start=1):
        subs.append(
            pysrt.SubRipItem(
                index=index,
                start=pysrt.SubRipTime.from_ordinal(round(cue.start * 1000)),
                end=pysrt.SubRipTime.from_ordinal(round(cue.end * 1000)),
                text=cue.text.replace("-->", "->"),
            )
        )
    buffer = io.StringIO()
    subs.write_into(buffer)
    return buffer.getvalue()


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def vtt_escape(text: str) -> str:
    """Escape text for a WebVTT cue payload (``&``, ``<``, ``>``; ``-->`` can then not occur)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _vtt(doc: Document) -> str:
    blocks = ["WEBVTT", ""]
    for cue in doc.cues:
        blocks.append(f"{_vtt_time(cue.start)} --> {_vtt_time(cue.end)}")
        blocks.append(vtt_escape(cue.text))
        blocks.append("")
    return "\n".join(blocks)


def _json(doc: Document) -> str:
    t = doc.transcript
    payload = {
        "language": t.language,
        "model": t.model,
        "task": t.task,
        "duration": round(t.duration, 3),
        "text": t.text,
        "segments": [
            {
                "start": round(s.start, 3),
                "end": round(s.end, 3),
                "text": s.text.strip(),
                "avg_logprob": round(s.avg_logprob, 4),
                "no_speech_prob": round(s.no_speech_prob, 4),
                "words": [
                    {
                        "text": w.text.strip(),
                        "start": round(w.start, 3),
                        "end": round(w.end, 3),
                        "probability": round(w.probability, 4),
                    }
                    for w in s.words
                ],
            }
            for s in t.segments
        ],
        "cues": [{"start": round(c.start, 3), "end": round(c.end, 3), "lines": list(c.lines)} for c in doc.cues],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def _txt(doc: Document) -> str:
    lines = [s.text.strip() for s in doc.transcript.segments if s.text.strip()]
    return "\n".join(lines) + ("\n" if lines else "")


@dataclass(frozen=True)
class Writer:
    """A subtitle or transcript format."""

    name: str
    extension: str
    render: Callable[[Document], str]
    description: str


WRITERS: dict[str, Writer] = {
    w.name: w
    for w in (
        Writer("srt", "srt", _srt, "SubRip subtitles"),
        Writer("vtt", "vtt", _vtt, "WebVTT subtitles"),
        Writer("json", "json", _json, "segments, words, times, language, model"),
        Writer("txt", "txt", _txt, "plain transcript, one segment per line"),
        Writer("ass", "ass", lambda doc: render_ass(doc.cues, doc.style), "styled Advanced SubStation Alpha"),
    )
}


def write_outputs(doc: Document, paths: dict[str, Path]) -> list[Path]:
    """Render every requested format, then write each atomically; returns the written paths."""
    rendered = {fmt: WRITERS[fmt].render(doc) for fmt in paths}
    for fmt, path in paths.items():
        atomic_write(path, rendered[fmt])
        log.debug("wrote %s", path)
    return list(paths.values())
