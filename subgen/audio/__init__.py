"""Audio: ffmpeg (probe, extract), voice activity detection, speech windows."""
