"""HTTP plumbing shared by every router: the transaction per request, the request's
language, and the one place where domain errors become HTTP responses.

One short transaction per request, begun as late as possible, committed before the answer:
``DbSession`` is a function-scoped dependency, so its exit (the commit) runs after the
endpoint returns and before the first byte of the response is sent. A commit that fails
becomes ``503 service_busy`` (``reservations.db.CommitFailed``), never a success.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from reservations import db, languages
from reservations.db import database_unavailable
from reservations.errors import (
    DomainError,
    Forbidden,
    NotFound,
    ServiceBusy,
    Unauthorized,
    ValidationFailed,
    validation_details,
)
from reservations.logs import loggable_path
from reservations.settings import get_settings

log = logging.getLogger("reservations.http")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Commits run on their own threads, never waiting for a request thread to come free.
_finishing_threads = anyio.CapacityLimiter(16)
_write_slots: anyio.Semaphore | None = None


def _writers() -> anyio.Semaphore:
    """How many writing requests may run on threads at once.

    A writing request that is not on a hot path holds its lock (SQLite's write lock, rows
    in PostgreSQL) until its commit, which runs on a thread of its own after the endpoint
    returns. Letting at most this many writers onto the 40 request threads keeps threads
    free, and fewer threads compete for the interpreter with the one that holds the write
    lock; the other writers wait here, in the event loop, costing no thread.
    """
    global _write_slots
    if _write_slots is None:
        _write_slots = anyio.Semaphore(get_settings().write_concurrency)
    return _write_slots


async def db_session(request: Request) -> AsyncIterator[Session]:
    """The request's session. Opening it does no I/O; a transaction begins on the
    endpoint's own thread at its first statement (reads: one that takes no write lock),
    and is committed, or rolled back on error, when the endpoint has returned and before
    the response is sent.
    """
    write = request.method not in READ_METHODS
    if not write:
        session = db.open_session(write=False)
        try:
            yield session
        except BaseException as exc:
            await _finish(session, exc)
            raise
        await _finish(session, None)
        return
    async with _writers():
        session = db.open_session(write=True)
        try:
            yield session
        except BaseException as exc:
            await _finish(session, exc)
            raise
        await _finish(session, None)


async def _finish(session: Session, error: BaseException | None) -> None:
    if not session.in_transaction():
        # Nothing left to commit (the hot paths commit their own short transactions):
        # closing does no I/O, so it needs no thread.
        db.finish(session, error)
        return
    await anyio.to_thread.run_sync(db.finish, session, error, limiter=_finishing_threads)


def undo_refused(session: Session, error: DomainError) -> None:
    """A page that answers a refused form with the form again (rather than raising) undoes
    what the service did before refusing, unless the refusal is itself a change to keep.
    What the page then reads to answer takes no write lock."""
    if not error.keeps_changes:
        db.rollback(session)
        db.begin_read(session)


# Function scope: the commit happens before the response is sent, so a client never
# receives a success for a transaction that then failed to commit, and a client that reads
# right after its answer sees what it was told.
DbSession = Annotated[Session, Depends(db_session, scope="function")]


def json_response(body: bytes, status_code: int = 200) -> Response:
    """An answer already serialised from its response model: its shape is guaranteed, so
    FastAPI does not validate and serialise it a second time."""
    return Response(body, status_code=status_code, media_type="application/json")


def view_response(view: BaseModel, status_code: int = 200) -> Response:
    return json_response(view.model_dump_json(by_alias=True).encode(), status_code)


async def request_language(request: Request) -> str:
    return language_of(request)


def language_of(request: Request) -> str:
    """The page's remembered choice first (``languages.CODES``), then Accept-Language."""
    chosen = request.cookies.get("lang")
    if languages.is_known(chosen):
        return chosen
    return languages.negotiate(request.headers.get("accept-language", ""))


Language = Annotated[str, Depends(request_language)]


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def domain_error_response(request: Request, exc: DomainError) -> Response:
    headers = {}
    retry_after = exc.details.get("retry_after")
    if exc.status in (429, 503) and retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    page_handler = getattr(request.app.state, "page_error_handler", None)
    if page_handler is not None and wants_page(request):
        response: Response = page_handler(request, exc)
        response.headers.update(headers)
        return response
    return JSONResponse(
        error_body(exc.code, exc.message(language_of(request)), exc.details),
        status_code=exc.status,
        headers=headers,
    )


# Answered in JSON (or the Prometheus text format) whatever asks: machines read these.
_MACHINE_PATHS = frozenset({"/health", "/health/ready", "/metrics", "/openapi.json"})


def wants_page(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path in _MACHINE_PATHS)


# Where FastAPI found the problem is not part of the field's name.
_NOT_A_FIELD = frozenset({"body"})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return domain_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return domain_error_response(
            request, ValidationFailed(validation_details(exc.errors(), skip=_NOT_A_FIELD))
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        mapped = _HTTP_STATUS_ERRORS.get(exc.status_code)
        if mapped is not None:
            return domain_error_response(request, mapped())
        error = DomainError()
        return JSONResponse(
            error_body("http_error", error.message(language_of(request))),
            status_code=exc.status_code,
        )

    @app.exception_handler(DBAPIError)
    @app.exception_handler(SATimeoutError)
    async def _database_busy(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            return await _unexpected(request, exc)
        # A locked SQLite file, an exhausted connection pool, a database server that
        # restarts or cannot be reached: nothing was done, the client may retry.
        log.warning(
            "database unavailable (%s) on %s %s",
            type(exc).__name__,
            request.method,
            loggable_path(request.url.path),
        )
        return domain_error_response(request, ServiceBusy())

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The engine hides bound parameters, and the log filter withholds the exception's
        # text (see reservations.logs): the traceback carries no personal data.
        log.error(
            "unhandled %s on %s %s",
            type(exc).__name__,
            request.method,
            loggable_path(request.url.path),
            exc_info=exc,
        )
        return domain_error_response(request, InternalError())


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"
    status = 405
    msgid = "不支持该请求方法。"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    msgid = "请求内容过大。"


class InternalError(DomainError):
    code = "internal_error"
    status = 500
    msgid = "服务器暂时无法处理请求，请稍后再试。"


_HTTP_STATUS_ERRORS: dict[int, type[DomainError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}
