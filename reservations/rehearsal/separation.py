"""Rehearsals apart from real data.

A rehearsal (``RESERVATIONS_FAKE_NOW``) books future days, admits tickets at made-up times
and writes audit entries that can never be edited: in the museum's real database that
would be permanent nonsense. So a data directory and a database each remember the clock
they were first used with, and the service refuses to start with the other one. A
rehearsal runs on a copy (``reservations rehearsal-copy``), marked as such.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

from reservations.rehearsal.service import CLOCK_FILE
from reservations.settings import Settings
from reservations.tickets.signing import KEY_DIR, Keyring

REAL = "real"
REHEARSAL = "rehearsal"
MARK_FILE = "clock-mode"
_SQLITE_FILE = "reservations.sqlite3"
# Rows that mean a database has served visitors, staff or admins.
_USED = [
    text(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608 (fixed table names)
    for table in ("booking", "gate_scan", "audit_entry")
]


class MixedClocks(RuntimeError):
    """The data directory or the database was used with the other clock."""


def wanted_mode(settings: Settings) -> str:
    return REHEARSAL if settings.fake_now is not None else REAL


def directory_mode(data_dir: Path) -> str | None:
    """The clock the data directory serves; None for a directory never used."""
    mark = data_dir / MARK_FILE
    if mark.is_file():
        return mark.read_text().strip() or None
    # Directories from before the mark: a frozen clock file betrays a rehearsal; keys
    # without one, real use.
    if (data_dir / CLOCK_FILE).exists():
        return REHEARSAL
    if (data_dir / "signing-keys").is_dir():
        return REAL
    return None


def database_mode(connection: Connection, data_dir: Path) -> str | None:
    """The clock the database serves; None for a database never used."""
    mark = connection.execute(text("SELECT mode FROM clock_mark WHERE id = 1")).scalar()
    if mark is not None:
        return str(mark)
    # A database from before the mark that holds data serves whatever its data directory
    # served: a frozen clock there betrays a rehearsal.
    for statement in _USED:
        if connection.execute(statement).first() is not None:
            return REHEARSAL if directory_mode(data_dir) == REHEARSAL else REAL
    return None


def check_and_mark(connection: Connection, settings: Settings) -> None:
    """Refuse a data directory or database used with the other clock; mark new ones.

    Runs inside the start-up transaction (under its lock on PostgreSQL), before the frozen
    clock is written anywhere.
    """
    wanted = wanted_mode(settings)
    in_directory = directory_mode(settings.data_dir)
    in_database = database_mode(connection, settings.data_dir)
    for where, found in (("data directory", in_directory), ("database", in_database)):
        if found is not None and found != wanted:
            raise MixedClocks(refusal(where, found, settings))
    if (
        in_database is None
        or connection.execute(text("SELECT 1 FROM clock_mark WHERE id = 1")).first() is None
    ):
        connection.execute(
            text("INSERT INTO clock_mark (id, mode) VALUES (1, :mode)"), {"mode": wanted}
        )
    if not (settings.data_dir / MARK_FILE).is_file():
        (settings.data_dir / MARK_FILE).write_text(wanted + "\n")


def refusal(where: str, found: str, settings: Settings) -> str:
    directory = settings.data_dir
    if found == REAL:
        return (
            f"This {where} holds the museum's real data (it was used with the real clock), "
            "and a rehearsal (RESERVATIONS_FAKE_NOW) would write future-dated bookings, "
            "admissions and audit entries into it. Rehearse on a copy instead:\n"
            f"  reservations rehearsal-copy {directory}-rehearsal"
            + (
                ""
                if settings.is_sqlite and settings.database_url is None
                else " --database-url <an empty copy: createdb -T <real database> <copy>>"
            )
            + "\nthen start the rehearsal with "
            f"RESERVATIONS_DATA_DIR={directory}-rehearsal"
            + ("" if settings.database_url is None else " RESERVATIONS_DATABASE_URL=<the copy>")
            + " and RESERVATIONS_FAKE_NOW=<instant>."
        )
    return (
        f"This {where} was used for a rehearsal (with RESERVATIONS_FAKE_NOW): its bookings, "
        "admissions and audit entries are made up and must not become the museum's real "
        "records. Start the real service on the real data directory and database "
        "(RESERVATIONS_DATA_DIR, RESERVATIONS_DATABASE_URL), or, to go on rehearsing, set "
        "RESERVATIONS_FAKE_NOW."
    )


# --- making a rehearsal copy ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RehearsalCopy:
    data_dir: Path
    database_url: str | None  # None: the copy's embedded SQLite file


def make_copy(settings: Settings, target: Path, database_url: str | None = None) -> RehearsalCopy:
    """Copy the real data directory (and an embedded SQLite database) to ``target``,
    marked as a rehearsal. A PostgreSQL database is copied with PostgreSQL's own tools
    (``createdb -T``) first; ``database_url`` names that copy, which is marked here."""
    source = settings.data_dir.resolve()
    target = target.resolve()
    if target == source:
        raise MixedClocks("the rehearsal copy needs a directory of its own")
    if target.exists() and any(target.iterdir()):
        raise MixedClocks(f"{target} is not empty; choose a new directory for the copy")
    if not source.is_dir():
        raise MixedClocks(f"there is no data directory at {source} to copy")
    embedded = settings.resolved_database_url.startswith("sqlite")
    if not embedded and database_url is None:
        raise MixedClocks(
            "the database is PostgreSQL: copy it first (createdb -T <real> <copy>, with "
            "nobody connected to the real one, or pg_dump | psql), then pass the copy's "
            "address with --database-url"
        )
    if database_url is not None and _same_database(database_url, settings.resolved_database_url):
        raise MixedClocks("--database-url names the real database; give the copy's address")
    skipped = {MARK_FILE, CLOCK_FILE, _SQLITE_FILE, f"{_SQLITE_FILE}-wal", f"{_SQLITE_FILE}-shm"}
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o700)
    for entry in source.iterdir():
        if entry.name in skipped or entry.name.startswith("."):
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name)
        else:
            shutil.copy2(entry, target / entry.name)
    copy_url = database_url
    if embedded and database_url is None:
        _copy_sqlite(make_url(settings.resolved_database_url).database or "", target / _SQLITE_FILE)
        copy_url = f"sqlite:///{target / _SQLITE_FILE}"
    assert copy_url is not None
    mark_database(copy_url)
    (target / MARK_FILE).write_text(REHEARSAL + "\n")
    # Tickets issued in the rehearsal are signed by a key of its own, which no real gate
    # trusts; the copied keys still verify the copied tickets.
    Keyring(target / KEY_DIR).rotate()
    return RehearsalCopy(target, database_url)


def _copy_sqlite(source: str, target: Path) -> None:
    # SQLite's online backup: a consistent copy even while the service runs.
    origin = sqlite3.connect(source)
    copy = sqlite3.connect(target)
    try:
        origin.backup(copy)
    finally:
        copy.close()
        origin.close()
    os.chmod(target, 0o600)


def mark_database(url: str) -> None:
    """Bring the copy's schema up to date and mark it as a rehearsal's."""
    from reservations import db

    engine = create_engine(url, hide_parameters=True)
    try:
        db.migrate(engine)
        with engine.begin() as connection:
            updated = connection.execute(
                text("UPDATE clock_mark SET mode = :mode WHERE id = 1"), {"mode": REHEARSAL}
            )
            if updated.rowcount == 0:
                connection.execute(
                    text("INSERT INTO clock_mark (id, mode) VALUES (1, :mode)"),
                    {"mode": REHEARSAL},
                )
    finally:
        engine.dispose()


def _same_database(first: str, second: str) -> bool:
    a, b = make_url(first), make_url(second)
    return (a.drivername.split("+")[0], a.host, a.port, a.database) == (
        b.drivername.split("+")[0],
        b.host,
        b.port,
        b.database,
    )
