"""Stage 3, decode: each pass of a ready item becomes a ``DecodeJob``; windows of consecutive items share
batches in ``asr.batching.WindowBatcher``; without VAD the engine decodes the whole clip in one stream."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from subgen.asr.batching import DecodeJob, WindowBatcher
from subgen.asr.engines.base import Engine, ProgressFn
from subgen.audio import media
from subgen.core.errors import SubgenError
from subgen.core.options import TranscribeOptions
from subgen.pipeline.prepare import Audio, forced_language

UNDETECTED = "en"
"""The language of a clip in which VAD found no speech and none was given: nothing to detect it from."""


def detect_language(engine: Engine, audio: Audio) -> str:
    """The spoken language, detected from the clip's first speech window."""
    return engine.detect_language(audio.windows[0].samples(audio.clip))


def language_finder(audio: Audio, engine: Callable[[], Engine]) -> Callable[[TranscribeOptions], str]:
    """The language each pass decodes in: given, else detected once per item (however many passes ask)."""
    detect = functools.cache(lambda: detect_language(engine(), audio))

    def language(options: TranscribeOptions) -> str:
        return options.language or detect()

    return language


def decode_whole(engine: Engine, audio: Audio, options: TranscribeOptions, progress: ProgressFn) -> DecodeJob:
    """``--no-vad``: the engine decodes the whole clip in one sequential stream (and hears everything)."""
    clip = audio.clip
    whole = media.AudioClip(np.asarray(clip.samples[0 : len(clip.samples)]), clip.source, clip.sample_rate)
    transcript = engine.transcribe(whole, options, progress)
    job = DecodeJob(clip, options, transcript.language, ())
    job.segments.extend(transcript.segments)
    return job


def start_pass(
    batcher: WindowBatcher,
    audio: Audio,
    options: TranscribeOptions,
    language: Callable[[TranscribeOptions], str],
    progress: ProgressFn,
) -> DecodeJob:
    """Queue one pass's windows (or decode it whole, or finish it at once); ``batcher.pump`` returns the job
    when its last window is back. A failure to start is recorded on the job, never raised."""
    try:
        if audio.speech is None:
            job = decode_whole(batcher.engine(), audio, options, progress)
        elif not audio.windows:
            job = DecodeJob(audio.clip, options, forced_language(options) or UNDETECTED, ())
        else:
            job = DecodeJob(audio.clip, options, language(options), audio.speech.spans)
            batcher.add(job, audio.windows)
            return job
    except SubgenError as exc:
        job = DecodeJob(audio.clip, options, UNDETECTED, (), error=exc)
    batcher.add(job, ())
    return job
