"""The frozen clock of tests and rehearsals, stored in the database for every worker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from reservations import clock
from reservations.rehearsal.models import FrozenClock


def start(session: Session, instant: datetime) -> None:
    """Freeze the clock at ``instant`` unless a rehearsal already moved it."""
    if session.get(FrozenClock, 1) is None:
        session.add(FrozenClock(id=1, now=instant))
        session.flush()


def move(session: Session, instant: datetime) -> datetime:
    row = session.get(FrozenClock, 1, with_for_update=True)
    if row is None:
        row = FrozenClock(id=1, now=instant)
    row.now = instant
    session.add(row)
    session.flush()
    return instant.astimezone(clock.zone())


class Reader:
    """Reads the frozen instant in its own short read, outside the caller's transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine.execution_options(sqlite_begin="DEFERRED")

    def __call__(self) -> datetime:
        with Session(self._engine) as session:
            instant = session.exec(select(FrozenClock.now).where(FrozenClock.id == 1)).first()
        if instant is None:
            raise RuntimeError("the rehearsal clock was not started")
        return instant
