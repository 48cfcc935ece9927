"""Structured logs: one JSON object per line on stderr, for subgen's own records and uvicorn's (access included)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
EXTRA_FIELDS = ("job", "state")
"""Fields a record may carry (``log.info(..., extra={"job": id})``) that become keys of their own."""
_PATH_TOKEN = re.compile(r"/t/[^/?\s]+")


def redact(text: str) -> str:
    """``text`` with the token of ``/t/<token>/`` paths hidden."""
    return _PATH_TOKEN.sub("/t/***", text)


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...}``; uvicorn's access records get their fields by name."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            args = [redact(a) if isinstance(a, str) else a for a in record.args]
            entry.update(zip(_ACCESS_FIELDS, args, strict=True))
            entry["message"] = "{} {} {}".format(*args[1:3], args[4])
        else:
            entry["message"] = redact(record.getMessage())
        for key in EXTRA_FIELDS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(level: int = logging.INFO) -> None:
    """Send the ``subgen`` and ``uvicorn`` loggers to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("subgen", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler] if name in ("subgen", "uvicorn") else []
        logger.setLevel(level)
        logger.propagate = name not in ("subgen", "uvicorn")
