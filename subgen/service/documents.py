"""A finished item's result document (subgen's json output) read back, and the shapes clients want from it:
subgen's formats, OpenAI's json and verbose_json, whisper-asr-webservice's json and tsv.

Subtitle formats (srt, vtt, ass, tsv) come from subgen's readable cues; the JSON shapes list the cleaned
transcript's segments (suppressed, aligned to the voice), with words when asked.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from subgen.asr.engines.base import compression_ratio
from subgen.core.languages import language_name
from subgen.core.options import SubtitleStyle
from subgen.core.types import Cue, Segment, Transcript, Word
from subgen.service.errors import BadRequest
from subgen.subtitles.writers import WRITERS, Document

EXTRA_FORMATS = ("tsv",)
"""Formats only the whisper-asr-webservice route renders (start and end in integer milliseconds, then text)."""


def load_document(path: Path, style: SubtitleStyle) -> Document:
    """The ``Document`` a json result file was rendered from (times to the millisecond, as written)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    segments = tuple(_segment(s) for s in data["segments"])
    transcript = Transcript(data["language"], segments, float(data["duration"]), data["model"], data["task"])
    cues = tuple(Cue(float(c["start"]), float(c["end"]), tuple(c["lines"])) for c in data["cues"])
    return Document(cues, transcript, style)


def _segment(data: dict[str, Any]) -> Segment:
    words = tuple(Word(w["text"], w["start"], w["end"], w.get("probability", 1.0)) for w in data.get("words", ()))
    return Segment(
        data["start"], data["end"], data["text"], words, data.get("avg_logprob", 0.0), data.get("no_speech_prob", 0.0)
    )


def check_format(fmt: str) -> str:
    """``fmt`` if it is one of subgen's formats (srt, vtt, json, txt, ass) or tsv, else a ``BadRequest``."""
    if fmt not in WRITERS and fmt not in EXTRA_FORMATS:
        choices = ", ".join([*WRITERS, *EXTRA_FORMATS])
        raise BadRequest(f"unknown format '{fmt}'; choose from {choices}", param="format", code="unknown_format")
    return fmt


def render(doc: Document, fmt: str) -> str:
    """The document in one of subgen's formats or tsv."""
    return tsv(doc) if check_format(fmt) == "tsv" else WRITERS[fmt].render(doc)


def tsv(doc: Document) -> str:
    """whisper-asr-webservice's tsv: a header, then one cue per line in integer milliseconds."""
    rows = ["start\tend\ttext"]
    for cue in doc.cues:
        text = " ".join(cue.lines).replace("\t", " ")
        rows.append(f"{round(cue.start * 1000)}\t{round(cue.end * 1000)}\t{text}")
    return "\n".join(rows) + "\n"


def usage(doc: Document) -> dict[str, Any]:
    """OpenAI's usage block for audio billed by duration."""
    return {"type": "duration", "seconds": math.ceil(doc.transcript.duration)}


def openai_json(doc: Document) -> dict[str, Any]:
    """OpenAI's ``json`` response."""
    return {"text": doc.transcript.text, "usage": usage(doc)}


def whisper_segments(doc: Document, words: bool) -> list[dict[str, Any]]:
    """The transcript's segments as Whisper's result dict lists them (no token ids: subgen keeps none)."""
    return [
        {
            "id": n,
            "seek": round(s.start * 100),
            "start": s.start,
            "end": s.end,
            "text": s.text,
            "tokens": [],
            "temperature": 0.0,
            "avg_logprob": s.avg_logprob,
            "compression_ratio": round(compression_ratio(s.text), 4),
            "no_speech_prob": s.no_speech_prob,
            **({"words": [_word(w, probability=True) for w in s.words]} if words else {}),
        }
        for n, s in enumerate(doc.transcript.segments)
    ]


def _word(word: Word, *, probability: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"word": word.text, "start": word.start, "end": word.end}
    if probability:
        data["probability"] = word.probability
    return data


def openai_verbose(doc: Document, granularities: set[str]) -> dict[str, Any]:
    """OpenAI's ``verbose_json``: segments unless only words were asked for, words when asked for."""
    t = doc.transcript
    data: dict[str, Any] = {
        "task": t.task,
        "language": language_name(t.language).lower(),
        "duration": round(t.duration, 3),
        "text": t.text,
    }
    if "segment" in granularities or not granularities:
        data["segments"] = whisper_segments(doc, words=False)
    if "word" in granularities:
        data["words"] = [_word(w) for s in t.segments for w in s.words]
    data["usage"] = usage(doc)
    return data


def asr_json(doc: Document, words: bool) -> dict[str, Any]:
    """whisper-asr-webservice's ``output=json``: Whisper's result dict (text, segments, language)."""
    return {"text": doc.transcript.text, "segments": whisper_segments(doc, words), "language": doc.transcript.language}
