"""Completion webhooks: a JSON POST per finished job, signed with HMAC-SHA256, retried with backoff.

The signature covers ``<timestamp>.<body>`` (header ``X-Subgen-Signature: sha256=<hex>``, the timestamp in
``X-Subgen-Timestamp``), keyed with ``--webhook-secret`` (else the token), so a receiver can check both origin
and freshness. Delivery state is stored with the job: a restart sends what was still pending.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from subgen.service.store import Job, JobStore

log = logging.getLogger(__name__)
TIMEOUT = 10.0
MAX_DELAY = 300.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Subgen-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class Webhooks:
    """Sends webhooks from a thread of its own; ``describe`` gives the JSON payload of a job."""

    def __init__(
        self, store: JobStore, secret: str | None, attempts: int, backoff: float, describe: Callable[[Job], Any]
    ) -> None:
        self.store, self.secret, self.attempts, self.backoff, self.describe = store, secret, attempts, backoff, describe
        self._due: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._main, name="subgen-webhooks", daemon=True)

    def start(self) -> None:
        """Start sending, beginning with deliveries a previous run left pending."""
        for job in self.store.webhooks_pending():
            self._schedule(job.id, 0.0)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (pending deliveries stay pending in the store)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout=TIMEOUT)

    def job_finished(self, job: Job) -> None:
        """Queue ``job``'s webhook if it has one."""
        if job.webhook_url and job.webhook_state == "pending":
            self._schedule(job.id, 0.0)

    def _schedule(self, job_id: str, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._due, (time.monotonic() + delay, job_id))
            self._cond.notify()

    def _main(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._due or self._due[0][0] > time.monotonic()):
                    self._cond.wait(timeout=self._due[0][0] - time.monotonic() if self._due else None)
                if self._stopping:
                    return
                _, job_id = heapq.heappop(self._due)
            self._attempt(job_id)

    def _attempt(self, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is None or not job.webhook_url or job.webhook_state != "pending":
            return
        attempt = job.webhook_attempts + 1
        problem = self._send(job)
        if problem is None:
            self.store.set_webhook(job.id, "delivered", attempt)
            log.info("job %s: webhook delivered (attempt %d)", job.id, attempt)
        elif attempt >= self.attempts:
            self.store.set_webhook(job.id, "failed", attempt)
            log.error("job %s: webhook failed after %d attempts: %s", job.id, attempt, problem)
        else:
            self.store.set_webhook(job.id, "pending", attempt)
            delay = min(MAX_DELAY, self.backoff * 2 ** (attempt - 1))
            log.warning("job %s: webhook attempt %d failed (%s); retrying in %.1f s", job.id, attempt, problem, delay)
            self._schedule(job.id, delay)

    def _send(self, job: Job) -> str | None:
        """POST the job; None on a 2xx answer, else what went wrong."""
        assert job.webhook_url is not None
        body = json.dumps({"event": f"job.{job.state}", "job": self.describe(job)}).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "User-Agent": "subgen", "X-Subgen-Timestamp": timestamp}
        headers["X-Subgen-Event"] = f"job.{job.state}"
        if self.secret:
            headers["X-Subgen-Signature"] = signature(self.secret, timestamp, body)
        request = urllib.request.Request(job.webhook_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # http(s) only: checked on submit
                return None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return str(getattr(exc, "reason", exc))
