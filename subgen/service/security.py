"""The gate every request passes (pure ASGI, ahead of routing): host, origin, token, body size.

- Bound to loopback, the ``Host`` header must name this machine: a web page cannot reach the service through a
  DNS name rebound to 127.0.0.1.
- A state-changing request from another site's page (``Origin`` not this server) is refused.
- With ``--token``, everything but ``/health`` needs ``Authorization: Bearer <token>``; browsers may send the
  token as the password of HTTP Basic auth (the page, its media and its subtitle tracks then just work); clients
  that cannot send headers (Bazarr's Whisper provider) put it in the path: ``/t/<token>/asr`` is ``/asr``. The
  logs never show such a path's token.
- A body larger than the upload limit gets 413: at once when ``Content-Length`` says so, else when the count
  passes it. The rest of a refused body is read and dropped (up to ``DRAIN_LIMIT``) so the client sees the answer.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

from subgen.core.errors import SubgenError
from subgen.service.config import ServiceConfig, is_loopback
from subgen.service.errors import Forbidden, TooLarge, Unauthorized, http_error

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC = frozenset({"/health"})
PATH_TOKEN = "/t/"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SLACK = 1024 * 1024
"""Bytes a multipart body may carry beyond the file itself (boundaries, other fields)."""
DRAIN_LIMIT = 64 * 1024 * 1024


CHALLENGES = ('Bearer realm="subgen"', 'Basic realm="subgen", charset="UTF-8"')
"""A 401's challenges, one header each (browsers then ask for the token as a password)."""


def error_response(exc: BaseException) -> JSONResponse:
    """The JSON error answer for ``exc``."""
    error = http_error(exc)
    response = JSONResponse(error.body(), status_code=error.status, headers=error.headers)
    if error.status == 401:
        for challenge in CHALLENGES:
            response.headers.append("WWW-Authenticate", challenge)
    return response


class Guard:
    """The ASGI middleware; ``config`` decides the token, the loopback rule and the size limit."""

    def __init__(self, app: ASGIApp, config: ServiceConfig) -> None:
        self.app, self.config = app, config
        self.limit = config.max_upload_bytes + SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            scope = self.path_token(scope)
            self.check(scope, headers)
        except SubgenError as exc:
            await _drain(receive)
            await error_response(exc)(scope, receive, send)
            return
        await _Limited(self.app, self.limit, _too_large(self.config))(scope, receive, send)

    def path_token(self, scope: Scope) -> Scope:
        """A ``/t/<token>/...`` request as the plain path, marked authorized; a wrong path token is refused."""
        path: str = scope["path"]
        if not path.startswith(PATH_TOKEN):
            return scope
        given, _, rest = path.removeprefix(PATH_TOKEN).partition("/")
        if not self.config.token or not hmac.compare_digest(given.encode(), self.config.token.encode()):
            raise Unauthorized("wrong token in the path")
        plain = "/" + rest
        return {**scope, "path": plain, "raw_path": plain.encode(), "subgen.authorized": True}

    def check(self, scope: Scope, headers: Headers) -> None:
        """Raise the first reason to refuse the request before the app sees it."""
        host = headers.get("host", "")
        if is_loopback(self.config.host) and not is_loopback(urlsplit(f"//{host}").hostname or ""):
            raise Forbidden(f"Host '{host}' is not this server; use http://127.0.0.1:{self.config.port}")
        origin = headers.get("origin")
        if scope["method"] in UNSAFE and origin and urlsplit(origin).netloc != host:
            raise Forbidden(f"cross-site request from {origin} refused")
        authorized = scope.get("subgen.authorized") or scope["path"] in PUBLIC or self._authorized(headers)
        if self.config.token and not authorized:
            raise Unauthorized("missing or wrong token: send 'Authorization: Bearer <token>'")
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > self.limit:
            raise _too_large(self.config)

    def _authorized(self, headers: Headers) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                value = base64.b64decode(value, validate=True).decode().partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                return False
        elif scheme.lower() != "bearer":
            return False
        token = self.config.token or ""
        return hmac.compare_digest(value.encode(), token.encode())


def _too_large(config: ServiceConfig) -> TooLarge:
    return TooLarge(f"request body exceeds the upload limit of {config.max_upload_mb} MiB (--max-upload-mb)")


async def _drain(receive: Receive, limit: int = DRAIN_LIMIT) -> None:
    """Read and drop the rest of a refused request's body (so the client reads the answer, not a reset)."""
    seen = 0
    while seen <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class _Limited:
    """Counts body bytes as the app reads them; past ``limit`` it answers 413 itself and hangs up on the app."""

    def __init__(self, app: ASGIApp, limit: int, error: TooLarge) -> None:
        self.app, self.limit, self.error = app, limit, error
        self.seen, self.refused = 0, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request" and not self.refused:
                self.seen += len(message.get("body", b""))
                if self.seen > self.limit:
                    self.refused = True
                    if message.get("more_body", False):
                        await _drain(receive)
                    await error_response(self.error)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not self.refused:
                await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not self.refused:
                raise
