"""Run the service for a test: ``python -m tests.service.launcher --config JSON --port-file FILE [--fake ...]``.

The app is the real one (``subgen.service.app.create_app``) under a real uvicorn; the launcher only binds a
free loopback port itself (written to ``--port-file`` once listening, so no test guesses a free port) and, with
``--fake``, makes ``subgen.api.ENGINES`` load a ``FakeEngine`` for tests of HTTP behaviour. The fake engine
decodes instantly unless a job's ``initial_prompt`` is ``gate:NAME``: then it waits until ``--gate-dir/NAME``
exists, which lets a test hold a job in the running state for as long as it needs. Without VAD (the engine
then sees each file), a file named ``held-NAME.*`` waits for ``--gate-dir/held-NAME``: one item of a batch.
``--load-gate FILE`` holds the model load the same way (``/health`` answers 503 meanwhile).
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

POLL = 0.01


def wait_for(path: Path) -> None:
    """Block until ``path`` exists (the test creates it when the held step may go on)."""
    while not path.exists():
        time.sleep(POLL)


@dataclass
class Gates:
    """Where gate files appear."""

    gate_dir: Path | None
    load_gate: Path | None

    def hold(self, prompt: str | None) -> None:
        if self.gate_dir is not None and prompt and prompt.startswith("gate:"):
            wait_for(self.gate_dir / prompt.removeprefix("gate:"))

    def hold_file(self, source: Path) -> None:
        if self.gate_dir is not None and source.stem.startswith("held-"):
            wait_for(self.gate_dir / source.stem)


def install_fake_engine(gates: Gates) -> None:
    """Make the API's warm-engine cache load a gated ``FakeEngine``."""
    import subgen.api as api
    from subgen.asr.engines.fake import FakeEngine
    from subgen.pipeline.engine import EngineCache

    class GatedFakeEngine(FakeEngine):
        def decode_windows(self, windows: Sequence[np.ndarray], options, language):  # type: ignore[no-untyped-def]
            gates.hold(options.initial_prompt)
            return super().decode_windows(windows, options, language)

        def transcribe(self, audio, options, progress=None):  # type: ignore[no-untyped-def]
            gates.hold(options.initial_prompt)
            gates.hold_file(audio.source)
            return super().transcribe(audio, options, progress)

    def load(options) -> FakeEngine:  # type: ignore[no-untyped-def]
        if gates.load_gate is not None:
            wait_for(gates.load_gate)
        return GatedFakeEngine()

    api.ENGINES = EngineCache(load)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, help="ServiceConfig as JSON")
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--fake", action="store_true")
    parser.add_argument("--gate-dir", type=Path)
    parser.add_argument("--load-gate", type=Path)
    args = parser.parse_args()

    import uvicorn

    from subgen.service import logs
    from subgen.service.app import create_app
    from subgen.service.config import ServiceConfig

    if args.fake:
        install_fake_engine(Gates(args.gate_dir, args.load_gate))
    logs.setup()
    app = create_app(ServiceConfig.from_json(args.config))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    tmp = args.port_file.with_suffix(".tmp")
    tmp.write_text(str(sock.getsockname()[1]))
    os.replace(tmp, args.port_file)
    config = uvicorn.Config(app, log_config=None, timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
