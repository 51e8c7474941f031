"""Migration 0005 builds exactly the job tables the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect
from sqlmodel import SQLModel

from reservations import db

OWN_TABLES = {"job_run", "job_lease"}


def _concerns_own_tables(diff: object) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            name = getattr(part, "name", None)
            table = getattr(getattr(part, "table", None), "name", None)
            if name in OWN_TABLES or table in OWN_TABLES or part in OWN_TABLES:
                return True
    return False


def test_the_migrated_job_tables_match_the_models(any_client: TestClient) -> None:
    engine = db.get_engine()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        differences = [
            d for d in compare_metadata(context, SQLModel.metadata) if _concerns_own_tables(d)
        ]
        indexes = {index["name"]: index for index in inspect(connection).get_indexes("job_run")}
        tables = set(inspect(connection).get_table_names())
    assert differences == []
    assert indexes["uq_job_run_occurrence"]["unique"]
    assert indexes["uq_job_run_occurrence"]["column_names"] == ["name", "occurrence"]
    assert "job_lease" not in tables
