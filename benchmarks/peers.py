"""faster-whisper run the way its own tools run it, as a peer for benchmarks/speed.py: one model, one SRT per input.

Usage: python benchmarks/peers.py sequential|batched --model-dir DIR --out OUT INPUT...

sequential: ``WhisperModel(DIR, device="cpu", compute_type="int8").transcribe(path, beam_size=5)`` without VAD,
as whisper-ctranslate2 runs it. batched: ``BatchedInferencePipeline(model).transcribe(path, batch_size=8)`` with
its defaults (it runs its own Silero VAD). Each input gets ``OUT/<stem>.srt``, one cue per Whisper segment.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from subgen.core.paths import atomic_write
from subgen.core.types import Cue, Segment, Transcript
from subgen.subtitles.writers import WRITERS, Document

MODES = ("sequential", "batched")
BEAM_SIZE = 5
BATCH_SIZE = 8

Transcribe = Callable[[Path], tuple[Iterable[Any], Any]]
"""A path to faster-whisper's (segments, info)."""


def load(model_dir: Path) -> Any:
    """The CTranslate2 model on the CPU with int8 weights, as whisper-ctranslate2 loads it there."""
    from faster_whisper import WhisperModel

    return WhisperModel(str(model_dir), device="cpu", compute_type="int8")


def transcriber(mode: str, model: Any) -> Transcribe:
    """The transcribe call of ``mode``: sequential (beam 5, no VAD) or batched (batch 8, its own VAD)."""
    if mode == "sequential":
        return lambda path: model.transcribe(str(path), beam_size=BEAM_SIZE, vad_filter=False)
    if mode == "batched":
        from faster_whisper import BatchedInferencePipeline

        pipeline = BatchedInferencePipeline(model)
        return lambda path: pipeline.transcribe(str(path), batch_size=BATCH_SIZE)
    raise ValueError(f"unknown mode '{mode}'; choose from {', '.join(MODES)}")


def transcript(segments: Iterable[Any], info: Any, model_name: str) -> Transcript:
    """faster-whisper's segments (consumed here: they are a lazy generator) as a subgen Transcript."""
    ours = tuple(Segment(s.start, s.end, s.text.strip()) for s in segments)
    return Transcript(language=info.language, segments=ours, duration=info.duration, model=model_name)


def srt(result: Transcript) -> str:
    """One cue per non-empty segment, rendered by subgen's SRT writer."""
    cues = tuple(Cue(s.start, s.end, (s.text,)) for s in result.segments if s.text)
    return WRITERS["srt"].render(Document(cues=cues, transcript=result))


def run(mode: str, model_dir: Path, out: Path, inputs: Sequence[Path]) -> list[Path]:
    """Load the model once, transcribe every input in order and write ``out/<stem>.srt`` for each."""
    transcribe = transcriber(mode, load(model_dir))
    written = []
    for path in inputs:
        segments, info = transcribe(path)
        target = out / f"{path.stem}.srt"
        atomic_write(target, srt(transcript(segments, info, model_dir.name)))
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: mode, model folder, output folder, inputs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--model-dir", type=Path, required=True, help="a CTranslate2 Whisper model folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for the <stem>.srt files")
    parser.add_argument("inputs", type=Path, nargs="+")
    args = parser.parse_args(argv)
    run(args.mode, args.model_dir, args.out, args.inputs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
