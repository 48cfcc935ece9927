"""The service's own errors and the one table that maps every error class to an HTTP status.

Library code raises ``SubgenError``s; this driver chooses status codes. Every error answer has OpenAI's envelope
``{"error": {"message", "type", "param", "code"}}`` and a non-2xx status, whatever route produced it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from subgen.core import errors as core


class ServiceError(core.SubgenError):
    """A request the service refuses; ``param`` names the offending field, ``code`` is a stable identifier."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


class BadRequest(ServiceError):
    """The request is malformed (a missing field, bad JSON, an unknown value)."""


class Unauthorized(ServiceError):
    """No token, or the wrong one."""


class Forbidden(ServiceError):
    """Allowed in general, not here: a path outside the roots, URL jobs switched off, a cross-site request."""


class NotFound(ServiceError):
    """No such job, item, result or file."""


class Conflict(ServiceError):
    """The job is in the wrong state for this (no result yet, failed, cancelled), or an Idempotency-Key is reused."""


class TooLarge(ServiceError):
    """The upload exceeds ``--max-upload-mb``."""


class JobFailed(ServiceError):
    """The media was accepted but could not be transcribed."""


class QueueFull(ServiceError):
    """``--max-queue`` jobs are waiting; ``retry_after`` seconds is a fair time to try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, code="queue_full")
        self.retry_after = retry_after


class NotReady(ServiceError):
    """The model is still loading, or failed to load."""


@dataclass(frozen=True)
class HttpError:
    """An error as the HTTP answer: status, envelope fields and extra headers."""

    status: int
    type: str
    message: str
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict:
        """OpenAI's error envelope."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


_STATUS: list[tuple[type[BaseException], int, str]] = [
    (BadRequest, 400, "invalid_request_error"),
    (Unauthorized, 401, "authentication_error"),
    (Forbidden, 403, "permission_error"),
    (NotFound, 404, "invalid_request_error"),
    (Conflict, 409, "invalid_request_error"),
    (TooLarge, 413, "invalid_request_error"),
    (JobFailed, 422, "invalid_request_error"),
    (QueueFull, 429, "rate_limit_error"),
    (NotReady, 503, "server_error"),
    (core.UsageError, 400, "invalid_request_error"),
    (core.SubtitleFileError, 400, "invalid_request_error"),
    (core.InputError, 400, "invalid_request_error"),
    (core.DownloadError, 502, "server_error"),
    (core.FFmpegNotFound, 500, "server_error"),
    (core.MediaError, 400, "invalid_request_error"),
    (core.ModelNotAvailable, 503, "server_error"),
    (core.EngineError, 500, "server_error"),
    (core.OutputError, 500, "server_error"),
]
"""Most specific first: the first class an error is an instance of decides (a MediaError met while checking an
upload is the client's media; the worker's own failures are reported on the job, not through this table)."""


def http_error(exc: BaseException) -> HttpError:
    """The HTTP answer for ``exc``: its status and type from the table, 500 for anything unexpected."""
    for cls, status, kind in _STATUS:
        if isinstance(exc, cls):
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, QueueFull) else {}
            param, code = getattr(exc, "param", None), getattr(exc, "code", None)
            return HttpError(status, kind, str(exc), param, code or _code(status), headers)
    return HttpError(500, "server_error", "internal error; the server log has the details", code="internal_error")


def _code(status: int) -> str | None:
    return {401: "invalid_api_key", 404: "not_found", 413: "file_too_large", 503: "not_ready"}.get(status)
