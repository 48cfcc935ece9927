"""Whisper's language codes, their ISO 639-2 tags (as containers want them) and English names."""

from __future__ import annotations

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

LANGUAGE_CODES = frozenset(_LANGUAGES)
"""Every language code Whisper knows (a test keeps this equal to whisper.tokenizer.LANGUAGES)."""


def iso639_2(code: str | None, *, bibliographic: bool = False) -> str:
    """A Whisper language code as ISO 639-2 (``und`` when unknown)."""
    if code not in _LANGUAGES:
        return UNDETERMINED
    terminologic = _LANGUAGES[code][0]
    return _BIBLIOGRAPHIC.get(terminologic, terminologic) if bibliographic else terminologic


def language_name(code: str | None) -> str:
    """The English name of a Whisper language code, or the code itself."""
    return _LANGUAGES[code][1] if code in _LANGUAGES else (code or "Unknown")
