"""What VAD and hallucination suppression change: long-form WER, text on non-speech, wall time.

Usage: python benchmarks/vad_effect.py [--model tiny.en] [--corpus ../shared/corpus] [--work DIR]
Runs subgen's pipeline in-process (model loaded once; wall times exclude the load) on the default long-form
file of benchmarks/longform.py with VAD on and off (and with condition_on_previous_text), and on 60 s of
non-speech (silence; a silence/pink/brown/tone mix): cues with VAD, without, and without suppression too.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.longform import LongForm, build_longform, nonspeech_video  # noqa: E402
from subgen.config import CueOptions, OutputOptions, RunOptions, TranscribeOptions  # noqa: E402
from subgen.cues import transcript_to_cues  # noqa: E402
from subgen.engines import load_engine  # noqa: E402
from subgen.engines.base import Engine  # noqa: E402
from subgen.evaluate import error_rates, read_text  # noqa: E402
from subgen.inputs import expand_inputs  # noqa: E402
from subgen.media import extract_audio  # noqa: E402
from subgen.models import resolve  # noqa: E402
from subgen.pipeline import Batch, ItemResult  # noqa: E402


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


def longform_row(name: str, engine: Engine, lf: LongForm, out: Path, **transcribe: object) -> str:
    """WER, cues and words starting in the non-speech stretches, and wall time for one configuration."""
    result, doc = run(engine, lf.video, out, **transcribe)
    srt = next(p for p in result.outputs if p.suffix == ".srt")
    rates = error_rates([lf.text], [read_text(srt)])
    cues = sum(_inside(c["start"], lf.nonspeech) for c in doc["cues"])
    words = sum(_inside(w["start"], lf.nonspeech) for s in doc["segments"] for w in s["words"])
    return (
        f"| {name} | {rates.wer:.2%} | {rates.substitutions}/{rates.deletions}/{rates.insertions} | {cues} | "
        f"{words} | {len(doc['cues'])} | {result.wall_seconds:.1f} |"
    )


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
    args = parser.parse_args()
    engine = load_engine("openai-whisper", resolve(args.model), "cpu")
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        lf = build_longform(args.corpus, work / "longform")
        speech = sum(u.end - u.start for u in lf.utterances)
        print(f"long-form: {lf.duration:.1f} s, {len(lf.utterances)} utterances ({speech:.1f} s speech), "
              f"non-speech {lf.nonspeech}")  # fmt: skip
        print("| run | WER | S/D/I | cues starting in non-speech | words in non-speech | cues | wall s |")
        print("|---|---|---|---|---|---|---|")
        print(longform_row("VAD on (default)", engine, lf, work / "lf-on", vad=True))
        print(longform_row("VAD off", engine, lf, work / "lf-off", vad=False))
        print(longform_row("VAD on, condition_on_previous_text", engine, lf, work / "lf-cond",
                           vad=True, condition_on_previous_text=True))  # fmt: skip
        print("\n| 60 s of | cues, VAD on | cues, VAD off | cues, VAD off, no suppression | raw segments |")
        print("|---|---|---|---|---|")
        for kind in ("mix", "silence"):
            print(nonspeech_row(kind, engine, work / kind))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
