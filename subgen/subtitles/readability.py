"""What a viewer reads: characters and words on screen, and the reading speeds presets limit (cues builds to
these measures, check lints against them)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def reading_chars(lines: Sequence[str]) -> int:
    """Characters read on screen: those of every line with spaces and punctuation, without line breaks or edge space."""
    return sum(len(line.strip()) for line in lines)


def _words(lines: Sequence[str]) -> int:
    # A word is a whitespace-separated token with a letter or digit, so a dialogue dash is none.
    return sum(1 for line in lines for token in line.split() if any(c.isalnum() for c in token))


def words_per_minute(lines: Sequence[str], duration: float) -> float:
    """Words shown per minute over ``duration`` seconds (infinite when words are shown for no time)."""
    words = _words(lines)
    if duration <= 0:
        return math.inf if words else 0.0
    return words * 60 / duration


def characters_per_second(lines: Sequence[str], duration: float) -> float:
    """Reading characters per second over ``duration`` seconds (infinite when text is shown for no time)."""
    chars = reading_chars(lines)
    if duration <= 0:
        return math.inf if chars else 0.0
    return chars / duration
