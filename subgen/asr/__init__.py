"""Speech recognition: engines, models, cross-file batching of windows, hallucination suppression."""
