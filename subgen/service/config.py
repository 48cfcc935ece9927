"""The service's settings, checked once at start: where it listens, which model it serves, what it may touch."""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from subgen.core.errors import UsageError
from subgen.core.options import DEFAULT_MODEL, TranscribeOptions

CONFIG_ENV = "SUBGEN_SERVICE_CONFIG"
"""The environment variable that hands ``subgen serve``'s settings (JSON) to the app factory uvicorn imports."""
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
MiB = 1024 * 1024


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/subgen/service`` (``~/.local/state/subgen/service`` when unset)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "subgen" / "service"


def is_loopback(host: str) -> bool:
    """True for a name or address that only this machine can reach."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServiceConfig:
    """Everything ``subgen serve`` takes; invalid combinations raise ``UsageError`` before anything starts."""

    host: str = "127.0.0.1"
    port: int = 8000
    model: str = DEFAULT_MODEL
    engine: str = "auto"
    device: str = "auto"
    state_dir: Path = field(default_factory=default_state_dir)
    token: str | None = None
    allow_roots: tuple[Path, ...] = ()
    allow_urls: bool = False
    max_upload_mb: int = 2048
    max_queue: int = 100
    webhook_secret: str | None = None
    webhook_attempts: int = 6
    webhook_backoff: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port must be in 0-65535, not {self.port}")
        if self.token is not None and len(self.token) < 8:
            raise UsageError("--token must be at least 8 characters (use a long random string)")
        if not is_loopback(self.host) and not self.token:
            raise UsageError(
                f"refusing to listen on {self.host} without --token: anyone on the network could use the service; "
                "pass --token (or SUBGEN_TOKEN), or bind to 127.0.0.1"
            )
        if self.max_upload_mb < 1:
            raise UsageError(f"--max-upload-mb must be at least 1, not {self.max_upload_mb}")
        if self.max_queue < 1:
            raise UsageError(f"--max-queue must be at least 1, not {self.max_queue}")
        if self.webhook_attempts < 1 or self.webhook_backoff < 0:
            raise UsageError("webhook attempts must be at least 1 and the backoff not negative")
        object.__setattr__(self, "state_dir", Path(self.state_dir).expanduser().absolute())
        object.__setattr__(self, "allow_roots", tuple(_root(Path(r)) for r in self.allow_roots))
        self.transcribe_options()  # an unknown --engine or --device is a usage error now

    @property
    def max_upload_bytes(self) -> int:
        """The largest accepted upload in bytes."""
        return self.max_upload_mb * MiB

    @property
    def signing_key(self) -> str | None:
        """What webhook signatures and preview links are keyed with: the webhook secret, else the token."""
        return self.webhook_secret or self.token

    def transcribe_options(self) -> TranscribeOptions:
        """The decoding settings that pick the served engine (every job decodes with this engine)."""
        return TranscribeOptions(model=self.model, engine=self.engine, device=self.device)

    def to_json(self) -> str:
        """These settings as JSON (for ``CONFIG_ENV``)."""
        data: dict[str, Any] = asdict(self)
        data["state_dir"] = str(self.state_dir)
        data["allow_roots"] = [str(r) for r in self.allow_roots]
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ServiceConfig:
        """Settings written by ``to_json``."""
        data = {key: value for key, value in json.loads(text).items() if value is not None}
        known = {f.name for f in fields(cls)}
        if set(data) - known:
            raise UsageError(f"unknown service settings: {', '.join(sorted(set(data) - known))}")
        if "state_dir" in data:
            data["state_dir"] = Path(data["state_dir"])
        data["allow_roots"] = tuple(Path(r) for r in data.get("allow_roots", ()))
        return cls(**data)


def _root(path: Path) -> Path:
    resolved = path.expanduser().resolve()
    if not resolved.is_dir():
        raise UsageError(f"--allow-root {path}: not a folder; pass an existing folder the service may read")
    return resolved
