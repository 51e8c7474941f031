"""What the service writes to its logs, and what it never does.

A log line never carries a secret or personal data:

- **The access log** is the service's own (uvicorn's is switched off, it writes the whole
  request line): method, path, status and duration, with every secret taken out of the
  path and query first. A booking's private link ``/my/<reference>/<token>`` (and its
  ``/print``, ``/calendar.ics`` and ``/cancel``) and a waiting list entry's
  ``/waitlist/entry/<reference>/<token>`` keep their reference only; a query keeps the
  values of a few harmless parameters (dates, tabs, notices) and nothing else, so a QR
  image's signature never reaches the log; any path segment or value that looks like a
  token (20 or more letters, digits, ``-`` or ``_``) or holds a run of seven digits (a
  phone or document number typed into an address) is withheld. The client's address is
  logged as a short keyed hash: requests of one client can be followed, nobody's address
  is kept.
- **Errors** are logged with where they happened, never with the exception's text, which
  may quote what a visitor typed (a filter rewrites every record that carries a traceback,
  uvicorn's own included).
"""

from __future__ import annotations

import logging
import re
import traceback
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reservations import clock
from reservations.protection.identities import address_key, blind

access_log = logging.getLogger("reservations.access")

WITHHELD = "[redacted]"
# A booking's private link /my/<reference>/<token>, a waiting list entry's
# /waitlist/entry/<reference>/<token>: the reference stays, the token goes.
_PRIVATE_LINK = re.compile(r"^(/my/[^/]+/|/waitlist/entry/[^/]+/)[^/]+")
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-]{20,}")
_SEVEN_DIGITS = re.compile(r"\d{7,}")  # any script: full-width digits too
# Query parameters whose values are logged; every other value is withheld.
_HARMLESS_PARAMETERS = frozenset(
    {"start", "end", "date", "day", "limit", "status", "tab", "done", "slot", "booked"}
    | {"cancelled", "action", "target", "page", "lang"}
)
_MAX_LOGGED = 300


def _segment(text: str) -> str:
    plain = unquote(text)
    if _TOKEN_LIKE.search(plain) or _SEVEN_DIGITS.search(plain):
        return WITHHELD
    return text


def loggable_path(path: str) -> str:
    """The path with every secret and personal detail withheld."""
    path = _PRIVATE_LINK.sub(lambda match: match[1] + WITHHELD, path)
    return "/".join(_segment(part) for part in path.split("/"))[:_MAX_LOGGED]


def loggable_target(path: str, query: str = "") -> str:
    """The request target (path and query) as it may be logged."""
    logged = loggable_path(path)
    if not query:
        return logged
    parameters = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "next":
            shown = loggable_path(value)
        elif name in _HARMLESS_PARAMETERS:
            shown = _segment(value)[:40]
        else:
            shown = WITHHELD
        parameters.append(f"{_segment(name)[:40]}={shown}")
    return f"{logged}?{'&'.join(parameters)}"[:_MAX_LOGGED]


def _client(scope: Scope) -> str:
    client = scope.get("client")
    if not client:
        return "-"
    return blind("log-address", address_key(client[0]))[:10]


class AccessLog:
    """One line per HTTP request, written when its answer is complete."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = clock.monotonic()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            target = loggable_target(
                scope.get("path", ""), scope.get("query_string", b"").decode("latin-1")
            )
            access_log.info(
                '%s "%s %s HTTP/%s" %d %.1fms',
                _client(scope),
                scope.get("method", "-"),
                target,
                scope.get("http_version", "1.1"),
                status,
                (clock.monotonic() - started) * 1000,
            )


class WithholdExceptionText(logging.Filter):
    """Keep a traceback's frames and the exception's type; drop its message, which may
    quote personal data (a value that failed to parse, a refused address)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            frames = "".join(traceback.format_tb(exc.__traceback__))
            record.exc_text = (
                f"Traceback (most recent call last):\n{frames}"
                f"{type(exc).__module__}.{type(exc).__qualname__} (message withheld)"
            )
            record.exc_info = None
        return True


_FILTER = WithholdExceptionText()
_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


def install_log_redaction() -> None:
    """Put the filter on every handler the service's and uvicorn's loggers write through
    (idempotent; call again after logging is configured)."""
    for name in _LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
