"""Database engine, transactions and migrations.

One short transaction per request, begun as late as possible, committed before the
answer. A request reads in a transaction that takes no write lock (``begin_read``), does
every computation it can without the database, then writes in one short transaction
(``short_write``) whose last statement is the contended one (a capacity or occupancy
counter), committed right after it. A commit that fails is never reported as a success:
it raises ``CommitFailed``, which answers ``503 service_busy``.

SQLite (the embedded default) runs in WAL mode, so readers never wait for the writer.
Every write transaction takes the write lock up front (``BEGIN IMMEDIATE``), so two
writers never both read and then fight over upgrading their lock. Writers queue first on
a lock of their process, then on a lock file shared by every process (``flock``, which
blocks in the kernel and wakes the next writer the moment the lock is free), and only then
ask SQLite: the lock passes from process to process without SQLite's busy handler, which
polls with sleeps of up to 100 ms. PostgreSQL runs at READ COMMITTED; capacity is
enforced by conditional single-statement updates on counter rows.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlmodel import Session, create_engine

from reservations import resources
from reservations.errors import DomainError, ServiceBusy
from reservations.settings import Settings, get_settings

log = logging.getLogger("reservations.db")

_lock = threading.Lock()
_engine: Engine | None = None

_SQLITE_BEGIN_OPTION = "sqlite_begin"
# The file whose lock every process of one SQLite database queues on to write.
WRITE_LOCK_FILE = "write.lock"


class DatabaseBusy(ServiceBusy):
    """No write slot came free in time."""


class CommitFailed(ServiceBusy):
    """The database did not confirm the transaction: nothing of it may be reported done."""


def build_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            hide_parameters=True,
        )
        _install_sqlite_hooks(engine, settings.data_dir / WRITE_LOCK_FILE)
    else:
        engine = create_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_pre_ping=True,
            # Exception texts must never carry bound values: they are personal data.
            hide_parameters=True,
        )
    _install_after_commit(engine)
    return engine


# --- work to do once a transaction has committed ------------------------------------------
#
# Kept with the connection (its pool record's ``info``, the same dictionary a Connection's
# ``info`` is): dropped when the transaction rolls back, run when the connection goes back
# to the pool, which every transaction here does right after its commit (short_write,
# finish, a session's commit). A connection lost mid-transaction drops them when it is
# invalidated.

_AFTER_COMMIT = "after_commit"


def after_commit(connection: Connection, callback: Callable[[], None]) -> None:
    """Call ``callback`` after the transaction ``connection`` is in has committed, never if
    it rolls back. Callbacks must be quick (hand the work to another thread) and never
    raise; one that does is logged and skipped."""
    connection.info.setdefault(_AFTER_COMMIT, []).append(callback)


def _install_after_commit(engine: Engine) -> None:
    @event.listens_for(engine, "rollback")
    def _rolled_back(connection: Connection) -> None:
        # An invalidated connection (the database went away mid-transaction) has no info
        # to reach without reconnecting: its callbacks went with it (below).
        if not connection.invalidated:
            connection.info.pop(_AFTER_COMMIT, None)

    @event.listens_for(engine.pool, "invalidate")
    def _lost(_dbapi_connection: Any, record: Any, _exception: BaseException | None) -> None:
        if record is not None:
            record.info.pop(_AFTER_COMMIT, None)

    @event.listens_for(engine.pool, "checkin")
    def _committed(_dbapi_connection: Any, record: Any) -> None:
        callbacks = record.info.pop(_AFTER_COMMIT, None) if record is not None else None
        for callback in callbacks or ():
            try:
                callback()
            except Exception as exc:  # the commit stands whatever a callback does
                log.error("after-commit callback failed: %s", type(exc).__name__)


# SQLite lets one writer in at a time and makes the others poll with growing sleeps (up to
# 100 ms each), which under a rush turns into seconds of waiting and starved requests, and
# makes a second worker process add nothing but waiting. Writers therefore queue on a lock
# of their own process, then on a lock file shared by all processes, and only then ask
# SQLite, which then always finds the write lock free.
_WRITER_LOCK_KEY = "holds_sqlite_writer_lock"
_WRITER_WAIT_SECONDS = 30.0
_writer_locks: dict[Engine, WriterLock] = {}


class WriterLock:
    """One writer at a time across the threads and the processes of one SQLite database.

    Threads queue on a ``threading.Lock`` (``flock`` locks belong to the open file, which
    the threads of a process share); the one in front then takes an exclusive ``flock`` on
    the lock file, which blocks in the kernel with the GIL released and is handed over as
    soon as the holder lets go, in whichever process it is.
    """

    def __init__(self, path: Path) -> None:
        self._threads = threading.Lock()
        self._path = path
        self._descriptor: int | None = None

    def _file(self) -> int:
        if self._descriptor is None:
            self._descriptor = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._descriptor

    def acquire(self, timeout: float = _WRITER_WAIT_SECONDS) -> bool:
        if not self._threads.acquire(timeout=timeout):
            return False
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return True

    def release(self) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        if self._descriptor is not None:
            with contextlib.suppress(OSError):
                os.close(self._descriptor)
            self._descriptor = None


def _install_sqlite_hooks(engine: Engine, lock_path: Path) -> None:
    writer_lock = WriterLock(lock_path)
    _writer_locks[engine] = writer_lock

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself instead of pysqlite's
        # implicit, lock-upgrading deferred transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Only reached by a process that does not use WriterLock (an older release, the
        # sqlite3 shell): then SQLite's own waiting applies.
        cursor.execute("PRAGMA busy_timeout=30000")
        # Erased personal data must not linger in free pages of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN_OPTION, "IMMEDIATE")
        if mode == "IMMEDIATE":
            info = connection.connection.info
            if not info.get(_WRITER_LOCK_KEY):
                if not writer_lock.acquire():
                    raise DatabaseBusy()
                info[_WRITER_LOCK_KEY] = True
        connection.exec_driver_sql(f"BEGIN {mode}")

    def _release(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        if record is not None and record.info.pop(_WRITER_LOCK_KEY, False):
            writer_lock.release()

    # The lock is held until the connection goes back to the pool, right after its commit
    # or rollback (which may run on another thread than the one that began).
    for name in ("checkin", "invalidate", "soft_invalidate"):
        event.listen(engine.pool, name, _release)


class ChangeProbe:
    """Whether anything was committed to an SQLite database since the last look.

    ``PRAGMA data_version`` on a connection of its own, which never writes: its value
    changes whenever any other connection, in any process, commits a change.
    """

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)

    def version(self) -> int:
        with self._lock:
            return int(self._connection.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._connection.close()


_probes: dict[Engine, ChangeProbe] = {}


def change_probe() -> ChangeProbe | None:
    """The change probe of the SQLite database in use; None on other databases."""
    engine = get_engine()
    if engine.dialect.name != "sqlite" or not engine.url.database:
        return None
    probe = _probes.get(engine)
    if probe is None:
        with _lock:
            probe = _probes.setdefault(engine, ChangeProbe(engine.url.database))
    return probe


def get_engine() -> Engine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = build_engine(get_settings())
        return _engine


def dispose_engine() -> None:
    global _engine
    with _lock:
        if _engine is not None:
            _engine.dispose()
            writer_lock = _writer_locks.pop(_engine, None)
            if writer_lock is not None:
                writer_lock.close()
            _readers.pop(_engine, None)
            probe = _probes.pop(_engine, None)
            if probe is not None:
                probe.close()
        _engine = None


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or get_engine()).dialect.name == "sqlite"


_readers: dict[Engine, Engine] = {}


def _engine_for(write: bool) -> Engine:
    engine = get_engine()
    if write or not is_sqlite(engine):
        return engine
    # Made once: building an engine with options costs more than a whole small query.
    reader = _readers.get(engine)
    if reader is None:
        reader = engine.execution_options(**{_SQLITE_BEGIN_OPTION: "DEFERRED"})
        _readers[engine] = reader
    return reader


def open_session(write: bool = True) -> Session:
    return Session(_engine_for(write), expire_on_commit=False)


_READING = "reading"


def begin_read(session: Session) -> Connection:
    """The session's connection, in a transaction that takes no write lock.

    Begins a read transaction (on SQLite a deferred one) unless the session is already in
    a transaction, which then serves as it is.
    """
    if session.in_transaction():
        return session.connection()
    connection = session.connection(execution_options={_SQLITE_BEGIN_OPTION: "DEFERRED"})
    session.info[_READING] = True
    return connection


def end_read(session: Session) -> None:
    """End a transaction begun by ``begin_read`` (what it loaded stays loaded); a write
    transaction stays open."""
    if session.info.pop(_READING, False) and session.in_transaction():
        session.commit()


@contextmanager
def reading(session: Session) -> Iterator[Connection]:
    """A connection in a transaction that takes no write lock, for the hot paths' reads.

    Core only: a pooled connection of its own, without the ORM session's bookkeeping,
    unless the session is already in a transaction, which then serves as it is.
    """
    if session.in_transaction():
        yield session.connection()
        return
    with _engine_for(write=False).connect() as connection:
        connection.begin()
        try:
            yield connection
        finally:
            connection.rollback()


@contextmanager
def short_write(session: Session) -> Iterator[Connection]:
    """One short write transaction, committed when the block ends.

    Everything that can be known beforehand must be computed before entering: the block
    holds SQLite's write lock or, on PostgreSQL, the row locks of what it changed. An
    exception rolls it back. When ``session`` is already writing (a page that changed
    something before), the block joins that transaction and its owner commits; otherwise
    it runs on a pooled connection of its own, without the ORM session's bookkeeping.
    """
    end_read(session)
    if session.in_transaction():
        yield session.connection()
        return
    with get_engine().connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        except BaseException:
            transaction.rollback()
            raise
        try:
            transaction.commit()
        except SQLAlchemyError as exc:
            # A COMMIT that failed may leave the transaction open (SQLite does): end it.
            with contextlib.suppress(SQLAlchemyError):
                transaction.rollback()
            _commit_failed(exc)


def database_unavailable(exc: BaseException) -> bool:
    """Whether a database error means "not now" (locked, pool exhausted, the server
    restarting or out of reach) rather than a fault of the request or of the code."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


# --- the hot paths' statements ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rendered:
    sql: str
    # qmark drivers (sqlite3) take the values in this order; named ones (psycopg) a dict.
    order: tuple[str, ...] | None
    compiled: SQLCompiler
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    results: tuple[Callable[[Any], Any] | None, ...]


class DriverStatement:
    """A statement of a hot path, rendered once per database from its SQLAlchemy
    construct and run on the driver's own cursor, inside the SQLAlchemy connection's
    transaction.

    For the one-row statements of a booking or a scan, SQLAlchemy's work around each
    statement (an execution context, events, result metadata) costs several times what the
    database itself does. The values still go through the columns' own conversions (dates
    and instants are stored exactly as SQLAlchemy stores them) and so do the results;
    driver errors become SQLAlchemy's, so callers catch ``IntegrityError`` as before.

    ``column_keys``: for an INSERT, the columns the values will name.
    """

    def __init__(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        self._statement = statement
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._rendered: dict[str, _Rendered] = {}

    def _render(self, dialect: Dialect) -> _Rendered:
        compiled = self._statement.compile(
            dialect=dialect,
            column_keys=self._column_keys,
            # IN lists of constants become plain parameters.
            compile_kwargs={"render_postcompile": True},
        )
        assert isinstance(compiled, SQLCompiler)
        processors = []
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((name, processor))
        columns = getattr(self._statement, "exported_columns", ())
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        rendered = _Rendered(compiled.string, order, compiled, tuple(processors), results)
        self._rendered[dialect.name] = rendered
        return rendered

    def _run(self, connection: Connection, parameters: Mapping[str, Any]) -> Any:
        dialect = connection.dialect
        rendered = self._rendered.get(dialect.name) or self._render(dialect)
        # The statement's own constants with the values given, as SQLAlchemy would bind them.
        values = rendered.compiled.construct_params(parameters)
        assert values is not None
        for name, processor in rendered.processors:
            if name in values:
                values[name] = processor(values[name])
        driver = connection.connection.driver_connection
        assert driver is not None
        try:
            if rendered.order is not None:
                return driver.execute(rendered.sql, [values[name] for name in rendered.order])
            return driver.execute(rendered.sql, values)
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                None, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True
            ) from exc

    def _row(self, rendered: _Rendered, row: Sequence[Any]) -> tuple[Any, ...]:
        processors = rendered.results
        if not any(processors):  # a textual statement, or nothing to convert
            return tuple(row)
        return tuple(
            value if processor is None or value is None else processor(value)
            for processor, value in zip(processors, row, strict=True)
        )

    def run(self, connection: Connection, parameters: Mapping[str, Any]) -> None:
        """Run it; what it returns is not wanted."""
        self._run(connection, parameters).close()

    def first(
        self, connection: Connection, parameters: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """Run it and return its first row (converted), or None."""
        cursor = self._run(connection, parameters)
        try:
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        return self._row(self._rendered[connection.dialect.name], row)

    def all(self, connection: Connection, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run it and return every row (converted)."""
        cursor = self._run(connection, parameters)
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
        rendered = self._rendered[connection.dialect.name]
        return [self._row(rendered, row) for row in rows]


def _commit_failed(exc: SQLAlchemyError) -> None:
    # The engine hides bound parameters: the message carries no personal data.
    log.warning("commit failed: %s", type(exc).__name__)
    raise CommitFailed() from exc


def rollback(session: Session) -> None:
    session.info.pop(_READING, None)
    session.rollback()


def commit(session: Session) -> None:
    """Commit, or raise CommitFailed: a failed commit must never be answered as a success."""
    session.info.pop(_READING, None)
    try:
        session.commit()
    except SQLAlchemyError as exc:
        with contextlib.suppress(SQLAlchemyError):
            rollback(session)
        _commit_failed(exc)


def finish(session: Session, error: BaseException | None) -> None:
    """End a unit of work: commit on success, roll back on error, and close."""
    try:
        if session.in_transaction():
            if error is None or (isinstance(error, DomainError) and error.keeps_changes):
                commit(session)
            else:
                rollback(session)
    finally:
        session.info.clear()
        session.close()


@contextmanager
def transaction(write: bool = True) -> Iterator[Session]:
    """One unit of work for jobs and commands; services receive the session, never commit."""
    session = open_session(write)
    try:
        yield session
    except BaseException as exc:
        finish(session, exc)
        raise
    finish(session, None)


def one_at_a_time(session: Session, name: str) -> None:
    """Wait until no other transaction is doing ``name`` (a job's run, say); the wait ends
    at that transaction's commit or rollback, and this one holds ``name`` until its own.

    PostgreSQL: a transaction-level advisory lock on a key derived from the name, so two
    runs started together on different machines take turns. SQLite: every write
    transaction already holds the database's write lock from its first statement."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"reservations.jobs:{name}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.migrations_dir()))
    config.attributes["connection"] = connection
    return config


# Any fixed number; it only has to be the same for every process that migrates.
_MIGRATION_LOCK_ID = 72_2020_0928


def migrate(engine: Engine | None = None) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    engine = engine or get_engine()
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            connection.commit()
        try:
            command.upgrade(alembic_config(connection), "heads")
            connection.commit()
        finally:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
                connection.commit()
