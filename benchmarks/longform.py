"""Long-form test media with known speech times, built from ../shared/corpus and generated non-speech.

``build_longform`` joins trimmed corpus utterances with known pauses and a stretch of noise and tone,
writes a small solid-colour video and a reference SRT (one cue per utterance). ``nonspeech_video``
writes media in which nobody speaks. Both use the ffmpeg that subgen itself uses.

Levels: every utterance is scaled to -23 dBFS RMS (the corpus clips range from -60 to -10), non-speech to
-25 dBFS. Trimming: each utterance is decoded to 16 kHz mono and cut to its first and last 20 ms frame whose
energy rises a third of the way (in dB) from the clip's noise floor (5th percentile) to its speech level
(95th percentile), so its start and end in the joined file are where its speech starts and ends.
tests/test_longform.py checks that Silero hears no speech in what is cut away and that tiny.en still hears
the first and last reference word of the trimmed clips.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from subgen.audio.media import SAMPLE_RATE, extract_audio, ffmpeg_exe

DEFAULT_STEMS = (
    "en_jfk_inaugural_excerpt",
    "en_librispeech_1089-134686-0000",
    "en_ljspeech_LJ001-0001",
    "en_fleurs_001",
    "en_librispeech_1089-134691-0001",
    "en_ljspeech_LJ001-0003",
    "en_kennedy_moon_1961_excerpt",
    "en_fleurs_002",
    "en_ljspeech_LJ001-0005",
    "en_librispeech_1089-134686-0001",
    "en_fleurs_000",
    "en_ljspeech_LJ001-0007",
    "en_fleurs_003",
)
"""13 English clips (about 115 s of speech): LibriSpeech, LJ Speech, FLEURS, JFK, Kennedy."""

DEFAULT_PAUSES = (0.4, 1.5, 0.4, 6.5, 1.5, 0.4, 1.5, 0.4, 7.0, 1.5, 0.4, 1.5)
"""Silence after each utterance (cycled): short, medium and long pauses."""

DEFAULT_NONSPEECH = ((6, "pink", 6.0), (6, "tone", 5.0), (6, "brown", 6.0))
"""(after utterance index, kind, seconds): one 17 s stretch of noise and tone in the middle."""

SPEECH_LEVEL_DB = -23.0
"""RMS level every trimmed utterance is scaled to, dBFS (the corpus spans -60 to -10), as in mixed programmes."""
NONSPEECH_LEVEL_DB = -25.0
"""RMS level of generated noise and tones, dBFS: clearly audible, nearly as loud as the speech."""
MARGIN = 1.0
"""Silence between a non-speech stretch and the utterances around it."""

_SOURCES = {
    "silence": "anullsrc=r={rate}:cl=mono",
    "white": "anoisesrc=r={rate}:color=white:seed=7",
    "pink": "anoisesrc=r={rate}:color=pink:seed=11",
    "brown": "anoisesrc=r={rate}:color=brown:seed=13",
    "tone": "sine=r={rate}:frequency=440",
    "chord": "aevalsrc='sin(2*PI*261.6*t)+sin(2*PI*329.6*t)+sin(2*PI*392*t)':s={rate}",
    # A bass line that moves every 2 s, a melody stepping 4 times a second and a 2 Hz pulse: a music bed.
    "music": "aevalsrc='(sin(2*PI*t*110*pow(2,mod(floor(t/2),4)/4))+0.6*sin(2*PI*t*165*pow(2,mod(floor(t/2),4)/4))"
    "+0.4*sin(2*PI*t*440*pow(2,mod(floor(t*4),5)/5)))*(0.6+0.4*sin(2*PI*2*t))':s={rate}",
}
MIX = ("silence", "pink", "brown", "tone")
"""What ``mix`` cycles through, in equal parts."""
KINDS = (*_SOURCES, "mix")


@dataclass(frozen=True)
class Utterance:
    """One corpus utterance placed in the long-form file (seconds on its timeline)."""

    start: float
    end: float
    text: str
    stem: str


@dataclass(frozen=True)
class LongForm:
    """A built long-form video, its reference subtitles and where speech and non-speech are."""

    video: Path
    reference_srt: Path
    utterances: tuple[Utterance, ...]
    nonspeech: tuple[tuple[float, float], ...]
    duration: float

    @property
    def text(self) -> str:
        """The reference text of the whole file."""
        return " ".join(u.text for u in self.utterances)


def _ffmpeg(*args: str) -> bytes:
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE).stdout


def generate(kind: str, seconds: float, level_db: float = NONSPEECH_LEVEL_DB) -> np.ndarray:
    """``seconds`` of lavfi-generated non-speech at 16 kHz, scaled to ``level_db`` dBFS RMS (silence stays 0)."""
    if kind == "mix":
        part = seconds / len(MIX)
        return np.concatenate([generate(k, part, level_db) for k in MIX])
    if kind not in _SOURCES:
        raise ValueError(f"unknown non-speech kind '{kind}'; choose from {', '.join(KINDS)}")
    source = _SOURCES[kind].format(rate=SAMPLE_RATE)
    raw = _ffmpeg("-f", "lavfi", "-i", source, "-t", f"{seconds:.6f}", "-ac", "1", "-f", "f32le", "pipe:")
    samples = np.frombuffer(raw, dtype="<f4").astype(np.float32)[: round(seconds * SAMPLE_RATE)]
    return level(samples, level_db) if samples.any() else samples


def _frame_db(samples: np.ndarray, frame: int) -> np.ndarray:
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame).astype(np.float64)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def level(samples: np.ndarray, level_db: float) -> np.ndarray:
    """``samples`` scaled to ``level_db`` dBFS RMS."""
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return samples if rms == 0 else (samples * (10 ** (level_db / 20) / rms)).astype(np.float32)


def speech_span(samples: np.ndarray, frame_seconds: float = 0.02) -> tuple[int, int]:
    """[first, last) sample of the frames louder than a third of the way (dB) from noise floor to speech level."""
    frame = round(frame_seconds * SAMPLE_RATE)
    db = _frame_db(samples, frame)
    floor, speech = np.percentile(db, 5), np.percentile(db, 95)
    loud = np.flatnonzero(db > floor + (speech - floor) / 3)
    return (loud[0] * frame, (loud[-1] + 1) * frame) if loud.size else (0, len(samples))


def trim(samples: np.ndarray) -> np.ndarray:
    """``samples`` without the leading and trailing non-speech (see ``speech_span``)."""
    first, last = speech_span(samples)
    return samples[first:last]


def corpus_media(corpus: Path, stem: str) -> Path:
    """The media file of a corpus stem (whatever its extension)."""
    found = [p for p in corpus.glob(f"{stem}.*") if p.suffix != ".txt"]
    if not found:
        raise FileNotFoundError(f"{corpus}: no media for '{stem}'")
    return found[0]


def reference(corpus: Path, stem: str) -> str:
    """A corpus reference transcript joined to one line."""
    return " ".join((corpus / f"{stem}.txt").read_text(encoding="utf-8").split())


def encode_video(samples: np.ndarray, out: Path, colour: str = "0x203040") -> Path:
    """A 320x180 25 fps solid-colour H.264 video with ``samples`` (16 kHz mono) as its AAC audio."""
    out.parent.mkdir(parents=True, exist_ok=True)
    wav = out.with_suffix(".wav")
    _write_wav(samples, wav)
    seconds = len(samples) / SAMPLE_RATE
    _ffmpeg(
        "-f", "lavfi", "-i", f"color=c={colour}:s=320x180:r=25", "-i", str(wav), "-map", "0:v", "-map", "1:a",
        "-t", f"{seconds:.6f}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "96k", str(out),
    )  # fmt: skip
    wav.unlink()
    return out


def _write_wav(samples: np.ndarray, path: Path) -> None:
    import wave

    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


def nonspeech_video(out: Path, kind: str = "mix", seconds: float = 60.0) -> Path:
    """A video in which nobody speaks: ``kind`` is silence, white, pink, brown, tone, chord or mix."""
    return encode_video(generate(kind, seconds), out)


def write_reference_srt(utterances: Sequence[Utterance], path: Path) -> Path:
    """One SRT cue per utterance."""
    import pysrt

    subs = pysrt.SubRipFile()
    for i, u in enumerate(utterances, 1):
        subs.append(pysrt.SubRipItem(i, pysrt.SubRipTime.from_ordinal(round(u.start * 1000)),
                                     pysrt.SubRipTime.from_ordinal(round(u.end * 1000)), u.text))  # fmt: skip
    subs.save(str(path), encoding="utf-8")
    return path


def build_longform(
    corpus: Path,
    out_dir: Path,
    stems: Sequence[str] = DEFAULT_STEMS,
    *,
    pauses: Sequence[float] = DEFAULT_PAUSES,
    nonspeech: Sequence[tuple[int, str, float]] = DEFAULT_NONSPEECH,
    edge: float = 1.0,
    name: str = "longform",
) -> LongForm:
    """Join trimmed utterances of ``stems`` with ``pauses`` and ``nonspeech`` stretches into ``out_dir/name.mp4``.

    ``edge`` seconds of silence open and close the file; a non-speech stretch sits ``MARGIN`` s from speech.
    """
    parts: list[np.ndarray] = [generate("silence", edge)]
    utterances: list[Utterance] = []
    stretches: list[tuple[float, float]] = []
    cursor = len(parts[0])
    for index, stem in enumerate(stems):
        speech = level(trim(extract_audio(corpus_media(corpus, stem)).samples), SPEECH_LEVEL_DB)
        parts.append(speech)
        utterances.append(Utterance(cursor / SAMPLE_RATE, (cursor + len(speech)) / SAMPLE_RATE,
                                    reference(corpus, stem), stem))  # fmt: skip
        cursor += len(speech)
        if index == len(stems) - 1:
            parts.append(generate("silence", edge))
            break
        noise = [generate(kind, seconds) for after, kind, seconds in nonspeech if after == index]
        gap = [generate("silence", MARGIN), *noise, generate("silence", MARGIN)] if noise else []
        if noise:
            start = cursor + len(gap[0])
            stretches.append((start / SAMPLE_RATE, (start + sum(len(n) for n in noise)) / SAMPLE_RATE))
        gap = gap or [generate("silence", pauses[index % len(pauses)])]
        parts.extend(gap)
        cursor += sum(len(g) for g in gap)
    samples = np.concatenate(parts)
    out_dir.mkdir(parents=True, exist_ok=True)
    video = encode_video(samples, out_dir / f"{name}.mp4")
    srt = write_reference_srt(utterances, out_dir / f"{name}.srt")
    return LongForm(video, srt, tuple(utterances), tuple(stretches), len(samples) / SAMPLE_RATE)
