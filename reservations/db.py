"""Database engine, transactions and migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every write
transaction takes the write lock up front (``BEGIN IMMEDIATE``) so two workers never
both read a counter and then fight over upgrading their lock. PostgreSQL runs at READ
COMMITTED; capacity is enforced by conditional single-statement updates on counter rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine

from reservations import resources
from reservations.errors import DomainError, ServiceBusy
from reservations.settings import Settings, get_settings

_lock = threading.Lock()
_engine: Engine | None = None

_SQLITE_BEGIN_OPTION = "sqlite_begin"


class DatabaseBusy(ServiceBusy):
    """No write slot came free in time."""


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
        _install_sqlite_hooks(engine)
        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        # Exception texts must never carry bound values: they are personal data.
        hide_parameters=True,
    )


# SQLite lets one writer in at a time and makes the others poll with growing sleeps, which
# under a rush turns into seconds of waiting and starved requests. Writers of one process
# therefore queue on a lock here first, so only one of them at a time polls SQLite.
_WRITER_LOCK_KEY = "holds_sqlite_writer_lock"
_WRITER_WAIT_SECONDS = 30.0


def _install_sqlite_hooks(engine: Engine) -> None:
    writer_lock = threading.Lock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself instead of pysqlite's
        # implicit, lock-upgrading deferred transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
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
                if not writer_lock.acquire(timeout=_WRITER_WAIT_SECONDS):
                    raise DatabaseBusy()
                info[_WRITER_LOCK_KEY] = True
        connection.exec_driver_sql(f"BEGIN {mode}")

    def _release(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        if record is not None and record.info.pop(_WRITER_LOCK_KEY, False):
            writer_lock.release()

    # The lock is held until the connection goes back to the pool, after its commit or
    # rollback (which may run on another thread than the one that began).
    for name in ("checkin", "invalidate", "soft_invalidate"):
        event.listen(engine.pool, name, _release)


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
        _engine = None


def is_sqlite(engine: Engine | None = None) -> bool:
    return (engine or get_engine()).dialect.name == "sqlite"


def _engine_for(write: bool) -> Engine:
    engine = get_engine()
    if write or not is_sqlite(engine):
        return engine
    return engine.execution_options(**{_SQLITE_BEGIN_OPTION: "DEFERRED"})


def open_session(write: bool = True) -> Session:
    return Session(_engine_for(write), expire_on_commit=False)


def finish(session: Session, error: BaseException | None) -> None:
    """End a unit of work: commit on success, roll back on error, and close."""
    try:
        if error is None or (isinstance(error, DomainError) and error.keeps_changes):
            session.commit()
        else:
            session.rollback()
    finally:
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
