"""Subtitles: readable cues, writers (srt, vtt, ass, json, txt), reading files back, linting."""
