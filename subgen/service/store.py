"""Jobs and their items in SQLite (WAL): what survives a crash or restart, and the one place job states change.

Every method runs in one short transaction under a lock, so the event loop, the worker and the webhook thread
share one connection safely; a submission's duplicate check and insert are one atomic step.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from subgen.service.errors import Conflict, QueueFull


class JobState(StrEnum):
    """Where a job is in its life; ``done``, ``failed`` and ``cancelled`` are final."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


PENDING = "pending"
"""The status of an item of a path job that has not finished yet (ok, skipped and failed are final)."""
FINAL = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})
JOINABLE = (JobState.QUEUED, JobState.RUNNING, JobState.DONE)
"""States a repeated submission joins; after a failure or a cancel the same media may be tried again."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    origin TEXT NOT NULL,
    source TEXT NOT NULL,
    input TEXT NOT NULL,
    options TEXT NOT NULL,
    content_key TEXT NOT NULL,
    client_key TEXT,
    state TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT 'queued',
    error TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    decodes INTEGER NOT NULL DEFAULT 0,
    items_total INTEGER,
    audio_seconds REAL NOT NULL DEFAULT 0,
    wall_seconds REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    webhook_url TEXT,
    webhook_state TEXT,
    webhook_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
CREATE INDEX IF NOT EXISTS jobs_by_content ON jobs (content_key, state);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_client_key ON jobs (client_key) WHERE client_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS items (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    language TEXT,
    audio_seconds REAL,
    wall_seconds REAL,
    error TEXT,
    outputs TEXT NOT NULL DEFAULT '[]',
    documents TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (job_id, idx)
);
"""


@dataclass(frozen=True)
class NewJob:
    """A submission, ready to be stored (its input is already in place)."""

    id: str
    kind: str
    origin: str
    source: str
    input: str
    options: dict[str, Any]
    content_key: str
    client_key: str | None = None
    webhook_url: str | None = None


@dataclass(frozen=True)
class Job:
    """A stored job."""

    id: str
    kind: str
    origin: str
    source: str
    input: str
    options: dict[str, Any]
    content_key: str
    client_key: str | None
    state: JobState
    stage: str
    error: str | None
    cancel_requested: bool
    runs: int
    decodes: int
    items_total: int | None
    audio_seconds: float
    wall_seconds: float
    created_at: float
    started_at: float | None
    finished_at: float | None
    webhook_url: str | None
    webhook_state: str | None
    webhook_attempts: int

    @property
    def final(self) -> bool:
        """True once the job is done, failed or cancelled."""
        return self.state in FINAL


@dataclass(frozen=True)
class ItemRecord:
    """One item of a job: its status (pending until it ends), and where its subtitles and result documents are."""

    job_id: str
    index: int
    source: str
    status: str
    language: str | None = None
    audio_seconds: float | None = None
    wall_seconds: float | None = None
    error: str | None = None
    outputs: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()


def _job(row: sqlite3.Row) -> Job:
    data = dict(row)
    data.pop("seq", None)
    data["options"] = json.loads(data["options"])
    data["state"] = JobState(data["state"])
    data["cancel_requested"] = bool(data["cancel_requested"])
    return Job(**data)


def _item(row: sqlite3.Row) -> ItemRecord:
    data = dict(row)
    data["index"] = data.pop("idx")
    data["outputs"] = tuple(json.loads(data["outputs"]))
    data["documents"] = tuple(json.loads(data["documents"]))
    return ItemRecord(**data)


class JobStore:
    """The jobs database under the state folder."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a process crash
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple = ()) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    def _one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    def submit(self, new: NewJob, max_queue: int, retry_after: int) -> tuple[Job, bool]:
        """Store ``new`` unless the same submission exists: ``(job, created)``. Raises ``Conflict`` for an
        Idempotency-Key reused with other media or options, ``QueueFull`` when ``max_queue`` jobs wait."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                found = self._existing(new)
                if found is None:
                    self._insert(new, max_queue, retry_after)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        job = self.get(found or new.id)
        assert job is not None
        return job, found is None

    def _existing(self, new: NewJob) -> str | None:
        if new.client_key is not None:
            sql = "SELECT id, content_key FROM jobs WHERE client_key = ?"
            row = self._db.execute(sql, (new.client_key,)).fetchone()
            if row is not None:
                if row["content_key"] != new.content_key:
                    raise Conflict(
                        "this Idempotency-Key was used for other media or options; use a new key",
                        param="Idempotency-Key",
                        code="idempotency_key_reused",
                    )
                return str(row["id"])
        marks = ",".join("?" * len(JOINABLE))
        row = self._db.execute(
            f"SELECT id FROM jobs WHERE content_key = ? AND state IN ({marks}) ORDER BY seq LIMIT 1",
            (new.content_key, *JOINABLE),
        ).fetchone()
        return None if row is None else str(row["id"])

    def _insert(self, new: NewJob, max_queue: int, retry_after: int) -> None:
        waiting = self._db.execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (JobState.QUEUED,)).fetchone()[0]
        if waiting >= max_queue:
            raise QueueFull(f"{waiting} jobs are waiting (--max-queue {max_queue}); retry later", retry_after)
        self._db.execute(
            "INSERT INTO jobs (id, kind, origin, source, input, options, content_key, client_key, state, created_at,"
            " webhook_url, webhook_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new.id,
                new.kind,
                new.origin,
                new.source,
                new.input,
                json.dumps(new.options, sort_keys=True),
                new.content_key,
                new.client_key,
                JobState.QUEUED,
                time.time(),
                new.webhook_url,
                "pending" if new.webhook_url else None,
            ),
        )

    def get(self, job_id: str) -> Job | None:
        """The job, or None."""
        row = self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else _job(row)

    def recent(self, state: JobState | None = None, limit: int = 50) -> list[Job]:
        """The newest ``limit`` jobs, optionally only those in ``state``."""
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM jobs {where} ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
        return [_job(r) for r in rows]

    def claim_next(self) -> Job | None:
        """The oldest queued job, now running (its run counted), or None."""
        with self._lock:
            row = self._db.execute(
                "UPDATE jobs SET state = ?, stage = 'starting', runs = runs + 1, started_at = ? WHERE id = "
                "(SELECT id FROM jobs WHERE state = ? ORDER BY seq LIMIT 1) RETURNING *",
                (JobState.RUNNING, time.time(), JobState.QUEUED),
            ).fetchone()
        return None if row is None else _job(row)

    def requeue_running(self) -> list[str]:
        """Every job left running by a crash or stop goes back to the queue (at start); their ids."""
        with self._lock:
            rows = self._db.execute(
                "UPDATE jobs SET state = ?, stage = 'queued' WHERE state = ? RETURNING id",
                (JobState.QUEUED, JobState.RUNNING),
            ).fetchall()
        return [str(r["id"]) for r in rows]

    def requeue(self, job_id: str) -> None:
        """Put a running job back in the queue (the server is stopping)."""
        self._write("UPDATE jobs SET state = ?, stage = 'queued' WHERE id = ?", (JobState.QUEUED, job_id))

    def set_stage(self, job_id: str, stage: str, items_total: int | None = None) -> None:
        """Record what a running job is doing (and, once known, how many items it has)."""
        self._write(
            "UPDATE jobs SET stage = ?, items_total = COALESCE(?, items_total) WHERE id = ?",
            (stage, items_total, job_id),
        )

    def record_item(self, item: ItemRecord) -> None:
        """Store (or replace) one finished item."""
        self._write(
            "INSERT OR REPLACE INTO items (job_id, idx, source, status, language, audio_seconds, wall_seconds, error,"
            " outputs, documents) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item.job_id,
                item.index,
                item.source,
                item.status,
                item.language,
                item.audio_seconds,
                item.wall_seconds,
                item.error,
                json.dumps(list(item.outputs)),
                json.dumps(list(item.documents)),
            ),
        )

    def items(self, job_id: str) -> list[ItemRecord]:
        """The job's finished items, in item order."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM items WHERE job_id = ? ORDER BY idx", (job_id,)).fetchall()
        return [_item(r) for r in rows]

    def finish(self, job_id: str, state: JobState, error: str | None, decoded: bool) -> None:
        """End a run: the final state, totals from its items, and (when it decoded) one more completed decode."""
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, stage = ?, error = ?, finished_at = ?, decodes = decodes + ?,"
                " audio_seconds = (SELECT COALESCE(SUM(audio_seconds), 0) FROM items"
                " WHERE job_id = ? AND status = 'ok'),"
                " wall_seconds = (SELECT COALESCE(SUM(wall_seconds), 0) FROM items WHERE job_id = ? AND status = 'ok')"
                " WHERE id = ?",
                (state, state.value, error, time.time(), int(decoded), job_id, job_id, job_id),
            )

    def request_cancel(self, job_id: str) -> Job | None:
        """Cancel a queued job now; mark a running one (the worker stops it at its next progress step)."""
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = ?, stage = 'cancelled', finished_at = ? WHERE id = ? AND state = ?",
                (JobState.CANCELLED, time.time(), job_id, JobState.QUEUED),
            )
            self._db.execute(
                "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = ?", (job_id, JobState.RUNNING)
            )
        return self.get(job_id)

    def counts(self) -> dict[JobState, int]:
        """How many jobs are in each state."""
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").fetchall()
        found = {JobState(r["state"]): int(r["n"]) for r in rows}
        return {state: found.get(state, 0) for state in JobState}

    def totals(self) -> tuple[float, float]:
        """Audio seconds decoded and the wall seconds it took, over every item ever transcribed."""
        row = self._one(
            "SELECT COALESCE(SUM(audio_seconds), 0) AS a, COALESCE(SUM(wall_seconds), 0) AS w FROM items"
            " WHERE status = 'ok'"
        )
        return (float(row["a"]), float(row["w"])) if row else (0.0, 0.0)

    def mean_run_seconds(self, last: int = 20) -> float | None:
        """How long the last ``last`` finished runs took on average (None before the first)."""
        row = self._one(
            "SELECT AVG(finished_at - started_at) AS s FROM (SELECT finished_at, started_at FROM jobs"
            " WHERE state = ? AND started_at IS NOT NULL ORDER BY seq DESC LIMIT ?)",
            (JobState.DONE, last),
        )
        return None if row is None or row["s"] is None else float(row["s"])

    def webhooks_pending(self) -> list[Job]:
        """Final jobs whose webhook is still to be delivered."""
        marks = ",".join("?" * len(FINAL))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM jobs WHERE webhook_state = 'pending' AND state IN ({marks}) ORDER BY seq",
                tuple(FINAL),
            ).fetchall()
        return [_job(r) for r in rows]

    def set_webhook(self, job_id: str, state: str, attempts: int) -> None:
        """Record a delivery attempt's outcome (pending, delivered or failed)."""
        self._write("UPDATE jobs SET webhook_state = ?, webhook_attempts = ? WHERE id = ?", (state, attempts, job_id))
