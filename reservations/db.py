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
from reservations.errors import DomainError
from reservations.settings import Settings, get_settings

_lock = threading.Lock()
_engine: Engine | None = None

_SQLITE_BEGIN_OPTION = "sqlite_begin"


def build_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=settings.db_pool_size,
            max_overflow=20,
            hide_parameters=True,
        )
        _install_sqlite_hooks(engine)
        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=20,
        pool_pre_ping=True,
        # Exception texts must never carry bound values: they are personal data.
        hide_parameters=True,
    )


def _install_sqlite_hooks(engine: Engine) -> None:
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
        connection.exec_driver_sql(f"BEGIN {mode}")


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


@contextmanager
def transaction(write: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error.

    Services receive the session and never commit themselves.
    """
    with Session(_engine_for(write), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except DomainError as exc:
            if exc.keeps_changes:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise


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
