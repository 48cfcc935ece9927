"""What travels between the Ray stages: one typed value per item, pickled into a binary column of a Ray Data row,
and the plain status row each item ends as (read back into an ``ItemResult`` on the driver)."""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from subgen.asr.batching import DecodeJob
from subgen.audio.media import AudioClip
from subgen.audio.speech import pieces_of
from subgen.core.errors import SubgenError
from subgen.core.options import RunOptions
from subgen.core.results import ItemResult, ItemStatus
from subgen.core.types import Segment
from subgen.pipeline.prepare import Prepared, Ready
from subgen.sources.inputs import MediaItem

if TYPE_CHECKING:
    import pyarrow as pa

INDEX, VALUE = "index", "value"
"""The columns of the rows between stages: the item's place in the batch, its pickled ``Staged`` value."""


@dataclass(frozen=True)
class RunSpec:
    """What every stage of one run shares, shipped once with each stage (rows carry only an item's index)."""

    items: tuple[MediaItem, ...]
    options: RunOptions
    mirror: Path | None
    download_dir: Path
    log_level: int


@dataclass(frozen=True)
class PassDecode:
    """One pass as the decoder left it: the language it decoded in, its segments on the clip's timeline, an error."""

    language: str
    segments: tuple[Segment, ...]
    error: SubgenError | None = None

    @classmethod
    def of(cls, job: DecodeJob) -> PassDecode:
        """The part of a finished ``DecodeJob`` the finish stage needs (not the audio)."""
        return cls(job.language, tuple(job.segments), job.error)

    def job(self, ready: Ready, number: int, samples: int) -> DecodeJob:
        """The ``DecodeJob`` back, on a stand-in clip of the right length (finishing reads no samples)."""
        audio = ready.audio
        # np.zeros maps its pages lazily: the stand-in costs no memory, it only carries the clip's duration.
        clip = AudioClip(np.zeros(samples, dtype=np.float32), audio.clip.source, audio.clip.sample_rate)
        spans = audio.speech.spans if audio.speech else ()
        options = ready.passes[number].options
        job = DecodeJob(clip, options, self.language, spans, list(self.segments), error=self.error)
        job.pieces = pieces_of(audio.windows)
        return job


@dataclass(frozen=True)
class EngineInfo:
    """The engine that decoded an item: its name, device and what loading it took (0 once it was warm)."""

    name: str
    device: str
    load_seconds: float


@dataclass(frozen=True)
class Staged:
    """One item between stages: what the pipeline made of it so far and the seconds its stages took.

    After decoding, a ``Ready`` item's audio is dropped (``samples`` keeps its length) and ``decoded`` holds one
    entry per pass: its decode, its result when the decoder settled it (files found in the detected language), or
    None when its files existed before."""

    prepared: Prepared
    seconds: float = 0.0
    decoded: tuple[PassDecode | ItemResult | None, ...] = ()
    samples: int = 0
    engine: EngineInfo | None = None


def without_audio(ready: Ready) -> Ready:
    """``ready`` with its samples dropped: the finish stage needs the clip's length, not its audio."""
    clip = replace(ready.audio.clip, samples=np.zeros(0, dtype=np.float32))
    return replace(ready, audio=replace(ready.audio, clip=clip))


def encode(values: Sequence[tuple[int, Staged]]) -> pa.Table:
    """Rows of (index, pickled value); large_binary, so an item of many hours of audio still fits one row."""
    import pyarrow as pa

    return pa.table(
        {
            INDEX: pa.array([index for index, _ in values], pa.int64()),
            VALUE: pa.array([pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL) for _, v in values], pa.large_binary()),
        }
    )


def decode(table: pa.Table) -> list[tuple[int, Staged]]:
    """The (index, value) pairs of ``encode``'s rows."""
    indexes = table.column(INDEX).to_pylist()
    return [(i, pickle.loads(blob)) for i, blob in zip(indexes, table.column(VALUE).to_pylist(), strict=True)]


def status_rows(results: Sequence[tuple[int, ItemResult, EngineInfo | None]]) -> pa.Table:
    """The status row of each finished item: plain columns, the same fields as the local run's ``ItemResult``."""
    import pyarrow as pa

    engines = [e for _, _, e in results]
    rs = [r for _, r, _ in results]
    raws = pa.list_(pa.binary())
    return pa.table(
        {
            INDEX: pa.array([i for i, _, _ in results], pa.int64()),
            "source": pa.array([_raw(r.source) for r in rs], pa.binary()),
            "status": pa.array([r.status.value for r in rs], pa.string()),
            "outputs": pa.array([[_raw(p) for p in r.outputs] for r in rs], raws),
            "error": pa.array([_raw(r.error) if r.error is not None else None for r in rs], pa.binary()),
            "audio_seconds": pa.array([r.audio_seconds for r in rs], pa.float64()),
            "language": pa.array([r.language for r in rs], pa.string()),
            "wall_seconds": pa.array([r.wall_seconds for r in rs], pa.float64()),
            "warnings": pa.array([[_raw(w) for w in r.warnings] for r in rs], raws),
            "engine": pa.array([e.name if e else None for e in engines], pa.string()),
            "device": pa.array([e.device if e else None for e in engines], pa.string()),
            "load_seconds": pa.array([e.load_seconds if e else 0.0 for e in engines], pa.float64()),
        }
    )


def from_status_row(row: dict[str, Any]) -> tuple[int, ItemResult, EngineInfo | None]:
    """A status row back as the item's index, its ``ItemResult`` and the engine that decoded it."""
    result = ItemResult(
        source=_text(row["source"]),
        status=ItemStatus(row["status"]),
        outputs=tuple(Path(_text(p)) for p in row["outputs"] or ()),
        error=_text(row["error"]) if row["error"] is not None else None,
        audio_seconds=row["audio_seconds"],
        language=row["language"],
        wall_seconds=float(row["wall_seconds"]),
        warnings=tuple(_text(w) for w in row["warnings"] or ()),
    )
    engine = EngineInfo(row["engine"], row["device"], float(row["load_seconds"])) if row["engine"] else None
    return int(row[INDEX]), result, engine


def _raw(text: str | os.PathLike[str]) -> bytes:
    """Text as bytes, a file name's undecodable bytes (kept by Python as surrogates) included: Arrow strings must
    be valid UTF-8, subgen's sources and paths need not be."""
    return os.fspath(text).encode("utf-8", "surrogateescape")


def _text(raw: bytes) -> str:
    """``_raw`` undone."""
    return raw.decode("utf-8", "surrogateescape")
