"""What VAD and hallucination suppression change: long-form WER, text on non-speech, wall time.

Usage: python benchmarks/vad_effect.py [--model tiny.en] [--corpus ../shared/corpus] [--work DIR]
Runs subgen's pipeline in-process (model loaded once; wall times exclude the load; one warm-up run first) on
the default long-form file of benchmarks/longform.py with VAD on and off (``--repeat`` runs each; wall and
CPU seconds as median (range)), with VAD off and no suppression (the engine's output made into cues), and with
condition_on_previous_text; then on 60 s of non-speech (silence; a silence/pink/brown/tone mix): cues with
VAD, without, and without suppression too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.longform import LongForm, build_longform, nonspeech_video
from subgen.asr.engines import load_engine
from subgen.asr.engines.base import Engine
from subgen.asr.models import resolve
from subgen.audio.media import extract_audio
from subgen.core.options import CueOptions, OutputOptions, RunOptions, TranscribeOptions
from subgen.core.results import ItemResult
from subgen.core.types import Cue, Word
from subgen.evaluate.rates import error_rates
from subgen.pipeline.batch import Batch
from subgen.sources.inputs import expand_inputs
from subgen.subtitles.cues import transcript_to_cues


def run(engine: Engine, video: Path, out: Path, **transcribe: object) -> tuple[ItemResult, dict]:
    """One pipeline run writing srt and json; returns the item result and the json document."""
    opts = RunOptions(
        transcribe=TranscribeOptions(model=engine.model_name, **transcribe),  # type: ignore[arg-type]
        output=OutputOptions(formats=("srt", "json"), output_dir=out, overwrite=True),
    )
    [result] = Batch(opts, lambda: engine).run(expand_inputs([str(video)]))
    doc = json.loads(next(p for p in result.outputs if p.suffix == ".json").read_text(encoding="utf-8"))
    return result, doc


def _inside(t: float, stretches: tuple[tuple[float, float], ...]) -> bool:
    return any(a <= t < b for a, b in stretches)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})" if values else "-"


def _row(name: str, lf: LongForm, cues: list[Cue], words: list[Word], walls: list[float], cpus: list[float]) -> str:
    rates = error_rates([lf.text], [" ".join(c.text for c in cues)])
    in_cues = sum(_inside(c.start, lf.nonspeech) for c in cues)
    in_words = sum(_inside(w.start, lf.nonspeech) for w in words)
    return (
        f"| {name} | {rates.wer:.2%} | {rates.substitutions}/{rates.deletions}/{rates.insertions} | {in_cues} | "
        f"{in_words} | {len(cues)} | {_spread(walls)} | {_spread(cpus)} |"
    )


def longform_row(name: str, engine: Engine, lf: LongForm, out: Path, repeat: int, **transcribe: object) -> str:
    """WER, cues and words starting in the non-speech stretches, and median wall time for one configuration."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu = time.process_time()  # all threads of this process: less disturbed by other load than wall time
        result, doc = run(engine, lf.video, out, **transcribe)
        cpus.append(time.process_time() - cpu)
        walls.append(result.wall_seconds)
    cues = [Cue(c["start"], c["end"], tuple(c["lines"])) for c in doc["cues"]]
    words = [Word(w["text"], w["start"], w["end"]) for s in doc["segments"] for w in s["words"]]
    return _row(name, lf, cues, words, walls, cpus)


def unsuppressed_row(engine: Engine, lf: LongForm) -> str:
    """VAD off and no suppression: the engine's own output, made into cues."""
    raw = engine.transcribe(extract_audio(lf.video), TranscribeOptions(model=engine.model_name, vad=False))
    words = [w for s in raw.segments for w in s.words]
    return _row("VAD off, no suppression", lf, transcript_to_cues(raw, CueOptions()), words, [], [])


def nonspeech_row(kind: str, engine: Engine, work: Path) -> str:
    """Cues on 60 s of ``kind``: VAD on, VAD off, VAD off without suppression."""
    video = nonspeech_video(work / f"{kind}.mp4", kind, 60.0)
    on = len(run(engine, video, work / "on", vad=True)[1]["cues"])
    off = len(run(engine, video, work / "off", vad=False)[1]["cues"])
    raw = engine.transcribe(extract_audio(video), TranscribeOptions(model=engine.model_name, vad=False))
    unsuppressed = len(transcript_to_cues(raw, CueOptions()))
    texts = [s.text.strip() for s in raw.segments]
    return f"| {kind} | {on} | {off} | {unsuppressed} | {texts} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--work", type=Path, default=None, help="keep media and outputs here")
    parser.add_argument("--repeat", type=int, default=3, help="runs per VAD setting for the wall time (median)")
    args = parser.parse_args()
    engine = load_engine("openai-whisper", resolve(args.model), "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        lf = build_longform(args.corpus, work / "longform")
        speech = sum(u.end - u.start for u in lf.utterances)
        print(f"long-form: {lf.duration:.1f} s, {len(lf.utterances)} utterances ({speech:.1f} s speech), "
              f"non-speech {lf.nonspeech}")  # fmt: skip
        print("| run | WER | S/D/I | cues starting in non-speech | words there | cues | wall s | CPU s |")
        print("|---|---|---|---|---|---|---|---|")
        run(engine, lf.video, work / "warm-up", vad=False)  # the first decode of a process is slower
        print(longform_row("VAD on (default)", engine, lf, work / "lf-on", args.repeat, vad=True))
        print(longform_row("VAD off", engine, lf, work / "lf-off", args.repeat, vad=False))
        print(unsuppressed_row(engine, lf))
        print(longform_row("VAD on, condition_on_previous_text", engine, lf, work / "lf-cond", 1,
                           vad=True, condition_on_previous_text=True))  # fmt: skip
        print("\n| 60 s of | cues, VAD on | cues, VAD off | cues, VAD off, no suppression | raw segments |")
        print("|---|---|---|---|---|")
        for kind in ("mix", "silence"):
            print(nonspeech_row(kind, engine, work / kind))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
