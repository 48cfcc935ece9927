"""Subtitle tracks: cues read back from subtitle files, ISO 639-2 language tags and track titles."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from subgen.cues import Cue
from subgen.errors import MediaError

# Whisper's language codes -> (ISO 639-2/T, English name). Cantonese has no ISO 639-2 code of its own.
_LANGUAGES = {
    "en": ("eng", "English"), "zh": ("zho", "Chinese"), "de": ("deu", "German"), "es": ("spa", "Spanish"),
    "ru": ("rus", "Russian"), "ko": ("kor", "Korean"), "fr": ("fra", "French"), "ja": ("jpn", "Japanese"),
    "pt": ("por", "Portuguese"), "tr": ("tur", "Turkish"), "pl": ("pol", "Polish"), "ca": ("cat", "Catalan"),
    "nl": ("nld", "Dutch"), "ar": ("ara", "Arabic"), "sv": ("swe", "Swedish"), "it": ("ita", "Italian"),
    "id": ("ind", "Indonesian"), "hi": ("hin", "Hindi"), "fi": ("fin", "Finnish"), "vi": ("vie", "Vietnamese"),
    "he": ("heb", "Hebrew"), "uk": ("ukr", "Ukrainian"), "el": ("ell", "Greek"), "ms": ("msa", "Malay"),
    "cs": ("ces", "Czech"), "ro": ("ron", "Romanian"), "da": ("dan", "Danish"), "hu": ("hun", "Hungarian"),
    "ta": ("tam", "Tamil"), "no": ("nor", "Norwegian"), "th": ("tha", "Thai"), "ur": ("urd", "Urdu"),
    "hr": ("hrv", "Croatian"), "bg": ("bul", "Bulgarian"), "lt": ("lit", "Lithuanian"), "la": ("lat", "Latin"),
    "mi": ("mri", "Maori"), "ml": ("mal", "Malayalam"), "cy": ("cym", "Welsh"), "sk": ("slk", "Slovak"),
    "te": ("tel", "Telugu"), "fa": ("fas", "Persian"), "lv": ("lav", "Latvian"), "bn": ("ben", "Bengali"),
    "sr": ("srp", "Serbian"), "az": ("aze", "Azerbaijani"), "sl": ("slv", "Slovenian"), "kn": ("kan", "Kannada"),
    "et": ("est", "Estonian"), "mk": ("mkd", "Macedonian"), "br": ("bre", "Breton"), "eu": ("eus", "Basque"),
    "is": ("isl", "Icelandic"), "hy": ("hye", "Armenian"), "ne": ("nep", "Nepali"), "mn": ("mon", "Mongolian"),
    "bs": ("bos", "Bosnian"), "kk": ("kaz", "Kazakh"), "sq": ("sqi", "Albanian"), "sw": ("swa", "Swahili"),
    "gl": ("glg", "Galician"), "mr": ("mar", "Marathi"), "pa": ("pan", "Punjabi"), "si": ("sin", "Sinhala"),
    "km": ("khm", "Khmer"), "sn": ("sna", "Shona"), "yo": ("yor", "Yoruba"), "so": ("som", "Somali"),
    "af": ("afr", "Afrikaans"), "oc": ("oci", "Occitan"), "ka": ("kat", "Georgian"), "be": ("bel", "Belarusian"),
    "tg": ("tgk", "Tajik"), "sd": ("snd", "Sindhi"), "gu": ("guj", "Gujarati"), "am": ("amh", "Amharic"),
    "yi": ("yid", "Yiddish"), "lo": ("lao", "Lao"), "uz": ("uzb", "Uzbek"), "fo": ("fao", "Faroese"),
    "ht": ("hat", "Haitian Creole"), "ps": ("pus", "Pashto"), "tk": ("tuk", "Turkmen"), "nn": ("nno", "Nynorsk"),
    "mt": ("mlt", "Maltese"), "sa": ("san", "Sanskrit"), "lb": ("ltz", "Luxembourgish"), "my": ("mya", "Burmese"),
    "bo": ("bod", "Tibetan"), "tl": ("tgl", "Tagalog"), "mg": ("mlg", "Malagasy"), "as": ("asm", "Assamese"),
    "tt": ("tat", "Tatar"), "haw": ("haw", "Hawaiian"), "ln": ("lin", "Lingala"), "ha": ("hau", "Hausa"),
    "ba": ("bak", "Bashkir"), "jw": ("jav", "Javanese"), "su": ("sun", "Sundanese"), "yue": ("zho", "Cantonese"),
}  # fmt: skip
# Matroska uses the bibliographic forms where ISO 639-2 has two.
_BIBLIOGRAPHIC = {
    "sqi": "alb", "hye": "arm", "eus": "baq", "bod": "tib", "mya": "bur", "zho": "chi", "ces": "cze",
    "nld": "dut", "fra": "fre", "kat": "geo", "deu": "ger", "ell": "gre", "isl": "ice", "mkd": "mac",
    "mri": "mao", "msa": "may", "fas": "per", "ron": "rum", "slk": "slo", "cym": "wel",
}  # fmt: skip
UNDETERMINED = "und"
_MARKUP = re.compile(r"<[^>]*>|\{\\[^}]*\}")


def iso639_2(code: str | None, *, bibliographic: bool = False) -> str:
    """A Whisper language code as ISO 639-2 (``und`` when unknown)."""
    if code not in _LANGUAGES:
        return UNDETERMINED
    terminologic = _LANGUAGES[code][0]
    return _BIBLIOGRAPHIC.get(terminologic, terminologic) if bibliographic else terminologic


def language_name(code: str | None) -> str:
    """The English name of a Whisper language code, or the code itself."""
    return _LANGUAGES[code][1] if code in _LANGUAGES else (code or "Unknown")


@dataclass(frozen=True)
class Track:
    """A subtitle file to embed or burn: its language (Whisper code or None), title and the task that made it."""

    path: Path
    language: str | None = None
    title: str | None = None
    task: str = "transcribe"

    @property
    def label(self) -> str:
        """The track title players show: the given title, else the language's name."""
        return self.title or language_name(self.language)


def read_cues(path: Path) -> list[Cue]:
    """Timed cues from a subtitle file: subgen JSON, or anything ffmpeg reads (srt, vtt, ass, ssa)."""
    if not path.is_file():
        raise MediaError(f"{path}: subtitle file not found; check the path")
    if path.suffix.lower() == ".json":
        return _json_cues(path)
    if path.stat().st_size == 0:
        return []
    if path.suffix.lower() == ".srt":
        # Read as written: ffmpeg would turn a literal "\N" in the text into a line break.
        return _srt_cues(path.read_text(encoding="utf-8-sig", errors="replace"))
    return _srt_cues(_as_srt(path))


def _json_cues(path: Path) -> list[Cue]:
    try:
        cues = json.loads(path.read_text(encoding="utf-8"))["cues"]
        return [Cue(float(c["start"]), float(c["end"]), tuple(c["lines"])) for c in cues]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MediaError(f"{path}: not a subgen JSON file with cues ({exc}); pass an srt, vtt or ass file") from exc


def _as_srt(path: Path) -> str:
    from subgen.media import ffmpeg_arg, run_ffmpeg

    args = ["-loglevel", "error", "-i", ffmpeg_arg(path), "-map", "0:s:0", "-c:s", "srt", "-f", "srt", "pipe:1"]
    proc = run_ffmpeg(args, what=path, capture_stdout=True)
    return proc.stdout.decode("utf-8", "replace")


def _srt_cues(text: str) -> list[Cue]:
    import pysrt

    cues = []
    for item in pysrt.from_string(text):
        lines = tuple(ln.strip() for ln in _MARKUP.sub("", item.text).splitlines() if ln.strip())
        if lines:
            cues.append(Cue(item.start.ordinal / 1000, item.end.ordinal / 1000, lines))
    return cues
