"""Stage 4, finish: a decoded pass becomes readable cues (suppress, align, cues) and files (write), and a
finished item gets its subtitled video (``--burn``/``--embed``)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from subgen.asr.batching import DecodeJob
from subgen.asr.suppress import suppress
from subgen.audio.speech import align_to_voice
from subgen.core.options import CueOptions, RunOptions, SubtitleStyle
from subgen.core.paths import output_paths, record_language
from subgen.core.results import ItemResult, ItemStatus
from subgen.core.types import Transcript
from subgen.pipeline.prepare import Audio, Pass
from subgen.subtitles.cues import transcript_to_cues
from subgen.subtitles.writers import Document, write_outputs

log = logging.getLogger(__name__)


def transcript_of(job: DecodeJob) -> Transcript:
    """A decoded pass as a transcript on the clip's timeline (translations are English)."""
    options = job.options
    language = "en" if options.task == "translate" else job.language
    return Transcript(language, job.sorted_segments(), job.clip.duration, options.model, options.task)


def clean(transcript: Transcript, audio: Audio) -> Transcript:
    """Drop what Whisper invents (suppress) and snap words to VAD's onsets and offsets (when VAD ran)."""
    if audio.speech is None:
        return suppress(transcript, None)
    speech = audio.speech
    return align_to_voice(suppress(transcript, speech.regions, spans=speech.spans), speech.spans)


def cue_options(options: CueOptions, audio: Audio) -> CueOptions:
    """The cue limits with gaps measured in this video's frames (the preset's 25 fps for audio)."""
    return replace(options, fps=audio.info.fps) if audio.info.fps else options


def document(job: DecodeJob, audio: Audio, cues: CueOptions, style: SubtitleStyle) -> Document:
    """Everything a writer renders for one decoded pass: the cleaned transcript and its readable cues."""
    transcript = clean(transcript_of(job), audio)
    return Document(tuple(transcript_to_cues(transcript, cue_options(cues, audio))), transcript, style)


def write_pass(
    doc: Document, plan: Pass, formats: tuple[str, ...], source: str, warnings: tuple[str, ...] = ()
) -> ItemResult:
    """Write one pass's files (atomically) and describe them."""
    paths = output_paths(plan.base, doc.transcript.language, formats)
    written = write_outputs(doc, paths)
    record_language(plan.base, doc.transcript.language)
    duration, language = doc.transcript.duration, doc.transcript.language
    return ItemResult(source, ItemStatus.OK, tuple(written), None, duration, language, warnings=warnings)


def skipped_pass(plan: Pass, source: str) -> ItemResult:
    """The result of a pass whose files exist."""
    return ItemResult(source, ItemStatus.SKIPPED, outputs=tuple((plan.existing or {}).values()))


def verified_pass(plan: Pass, language: str, source: str) -> ItemResult | None:
    """A pass whose files exist in the language just detected (recorded now, so a rerun needs no model)."""
    if language not in plan.unverified:
        return None
    log.info("%s: subtitles in the detected language exist, skipping (use --overwrite to redo)", source)
    record_language(plan.base, language)
    return ItemResult(source, ItemStatus.SKIPPED, outputs=tuple(plan.unverified[language].values()))


def merge(results: list[ItemResult]) -> ItemResult:
    """One item's result from its passes: failed if any failed, else ok if any did work; the first language."""
    failed = next((r for r in results if r.status == ItemStatus.FAILED), None)
    if failed is not None:
        return failed
    outputs = tuple(dict.fromkeys(path for r in results for path in r.outputs))
    seconds = [r.audio_seconds for r in results if r.audio_seconds]
    status = ItemStatus.OK if any(r.status == ItemStatus.OK for r in results) else ItemStatus.SKIPPED
    language = next((r.language for r in results if r.language), None)
    audio = max(seconds, default=None)
    warnings = tuple(dict.fromkeys(w for r in results for w in r.warnings))
    return replace(results[0], status=status, outputs=outputs, audio_seconds=audio, language=language,
                   warnings=warnings)  # fmt: skip


def video_step(options: RunOptions, path: Path, passes: tuple[Pass, ...], results: list[ItemResult]) -> ItemResult:
    """The item's result from its passes' ``results``, with the subtitled video when ``--burn`` or ``--embed``
    asks (the subtitle files are already written)."""
    merged = merge(results)
    if not options.video.active or merged.status == ItemStatus.FAILED:
        return merged
    from subgen.video import mux

    tracks = [mux.pass_track(r.outputs, p.options.task, path) for p, r in zip(passes, results, strict=True)]
    written, made = mux.subtitled_video(options, path, passes[0].base, mux.ordered(tracks, options.tracks))
    if written is None:
        return merged
    status = ItemStatus.OK if made else merged.status
    return replace(merged, status=status, outputs=(*merged.outputs, written))
