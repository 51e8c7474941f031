"""Migration 0005 builds exactly the job tables the models describe, on both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from reservations import db
from tests.support import schema

# The migrations themselves are under test: they run on an empty database.
pytestmark = pytest.mark.empty_database

OWN_TABLES = {"job_run", "job_lease"}


def test_the_migrated_job_tables_match_the_models(any_client: TestClient) -> None:
    engine = db.get_engine()
    with engine.connect() as connection:
        differences = schema.differences(connection, OWN_TABLES)
        indexes = {index["name"]: index for index in inspect(connection).get_indexes("job_run")}
        tables = set(inspect(connection).get_table_names())
    assert differences == []
    assert indexes["uq_job_run_occurrence"]["unique"]
    assert indexes["uq_job_run_occurrence"]["column_names"] == ["name", "occurrence"]
    assert "job_lease" not in tables
