"""Request size limits: a pure ASGI middleware that refuses large bodies with
``413 payload_too_large`` before anything parses them.

The limit is checked on ``Content-Length`` up front and again while the body streams in
(a chunked body has no length to check). The API (``/api/...``) takes JSON and small forms
only: ``RESERVATIONS_MAX_BODY_BYTES`` (64 KiB: a booking for fifty visitors is under 10
KiB), whatever the body claims to be. Pages take the same, and multipart forms up to
``RESERVATIONS_MAX_UPLOAD_BYTES``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reservations.http import PayloadTooLarge, domain_error_response
from reservations.settings import get_settings


class BodySizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, limit)
            return

        received = 0
        exceeded = False
        replaced = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    # Whatever the app makes of this, the answer is the 413 below.
                    raise _too_large(limit)
            return message

        async def checked_send(message: Message) -> None:
            nonlocal replaced, started
            if replaced:
                return
            if message["type"] == "http.response.start":
                if exceeded:
                    # A parser may have turned the refusal into another answer.
                    replaced = True
                    await _refuse(scope, send, limit)
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, checked_send)
        except Exception:
            if not exceeded or started or replaced:
                raise
            await _refuse(scope, send, limit)


def _limit_for(scope: Scope) -> int:
    settings = get_settings()
    if scope.get("path", "").startswith("/api/"):
        return settings.max_body_bytes
    for name, value in scope.get("headers", ()):
        if name == b"content-type" and value.lower().startswith(b"multipart/"):
            return settings.max_upload_bytes
    return settings.max_body_bytes


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge({"max_bytes": limit})


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    request = Request(scope, nothing)
    response = domain_error_response(request, _too_large(limit))
    response.headers["Connection"] = "close"
    await response(scope, nothing, send)
