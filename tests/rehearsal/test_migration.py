"""The clock mark's migration builds exactly the table the model describes, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import SQLModel

from reservations import db

# The migrations themselves are under test: they run on an empty database.
pytestmark = pytest.mark.empty_database


def test_the_migrated_clock_mark_matches_the_model(any_client: TestClient) -> None:
    with db.get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        differences = [
            d for d in compare_metadata(context, SQLModel.metadata) if "clock_mark" in str(d)
        ]
        mode = connection.execute(text("SELECT mode FROM clock_mark WHERE id = 1")).scalar()
    assert differences == []
    assert mode == "rehearsal"  # the tests run with a frozen clock
