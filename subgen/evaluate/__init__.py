"""Measure subtitles against references: error rates, cue timing, file pairing (backs ``subgen eval``)."""
