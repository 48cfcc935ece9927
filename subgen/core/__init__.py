"""The bottom layer: value types, options, errors, events and output paths that every stage shares."""
