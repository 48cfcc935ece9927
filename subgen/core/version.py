"""subgen's version, in the bottom layer so that reports and the CLI can name it."""

__version__ = "0.1.0"
