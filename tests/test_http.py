"""A page that answers a refused form undoes what the service did before refusing, unless
the refusal itself is a change to keep."""

from __future__ import annotations

from typing import ClassVar

import pytest
from sqlalchemy import text

from reservations import db
from reservations.errors import DomainError
from reservations.http import undo_refused


class _Refused(DomainError):
    code = "refused_for_test"
    status = 409
    msgid = "拒绝"


class _RefusedKeepingChanges(_Refused):
    keeps_changes: ClassVar[bool] = True


def _notes() -> list[str]:
    with db.transaction(write=False) as session:
        rows = session.connection().execute(text("SELECT note FROM test_notes ORDER BY note"))
        return [row[0] for row in rows]


@pytest.mark.usefixtures("client")
@pytest.mark.parametrize(
    ("error", "kept"), [(_Refused(), []), (_RefusedKeepingChanges(), ["before the refusal"])]
)
def test_a_refusal_undoes_the_change_unless_it_keeps_it(
    error: DomainError, kept: list[str]
) -> None:
    with db.transaction() as session:
        session.connection().execute(text("CREATE TABLE test_notes (note TEXT)"))
    session = db.open_session()
    try:
        session.connection().execute(
            text("INSERT INTO test_notes (note) VALUES ('before the refusal')")
        )
        undo_refused(session, error)
        # What the page then reads to answer the form still works.
        assert session.connection().execute(text("SELECT count(*) FROM test_notes")).scalar() in (
            0,
            1,
        )
        db.finish(session, None)
    finally:
        session.close()
    assert _notes() == kept
