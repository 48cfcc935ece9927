"""WER, wall time and realtime factor of `subgen run` on the shared speech corpus.

Usage: python benchmarks/corpus_wer.py [--model tiny.en] [--lang en] [--corpus ../shared/corpus]
Runs the real CLI (one batch, model loaded once) into a temp folder, then scores each item.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from subgen.evaluate.rates import error_rates

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--lang", default="en", help="corpus language prefix (en, de, es, fr, pt)")
    parser.add_argument("--language", default=None, help="force --language (default: detect)")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    args = parser.parse_args()
    media = sorted(p for p in args.corpus.glob(f"{args.lang}_*") if p.suffix != ".txt")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [
            sys.executable,
            "-m",
            "subgen",
            "--quiet",
            "run",
            *map(str, media),
            "--model",
            args.model,
            "--output-dir",
            tmp,
            "--format",
            "txt",
            "--report",
            str(report),
        ]
        if args.language:
            cmd += ["--language", args.language]
        started = time.monotonic()
        subprocess.run(cmd, check=False)
        wall = time.monotonic() - started
        data = json.loads(report.read_text())
        refs, hyps = [], []
        print(f"{'item':45} {'lang':>4} {'WER':>6} {'RTF':>6}")
        for item in data["items"]:
            stem = Path(item["source"]).stem
            ref = (args.corpus / f"{stem}.txt").read_text(encoding="utf-8")
            hyp = Path(item["outputs"][0]).read_text(encoding="utf-8") if item["outputs"] else ""
            refs.append(ref)
            hyps.append(hyp)
            wer = error_rates([ref], [hyp], args.lang).wer
            print(f"{stem:45} {item['language'] or '-':>4} {wer:6.3f} {item['realtime_factor'] or 0:6.1f}")
    total = error_rates(refs, hyps, args.lang)
    t = data["totals"]
    print(
        f"\ncorpus WER {total.wer:.3f} (S {total.substitutions} D {total.deletions} I {total.insertions} "
        f"of {total.reference_words} words), CER {total.cer:.3f}"
    )
    print(
        f"{t['audio_seconds']:.1f} s audio; items {t['wall_seconds']:.1f} s ({t['realtime_factor']}x realtime); "
        f"model load {data['model_load_seconds']:.1f} s; whole command {wall:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
