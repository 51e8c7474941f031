from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class JobLease(SQLModel, table=True):
    """Who may run a job's occurrence: taken in the database so one worker runs it."""

    __tablename__ = "job_lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_occurrence: str | None = Field(default=None, max_length=64)


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    trigger: str = Field(max_length=16)
    holder: str = Field(max_length=128)
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    outcome: str = Field(default="running", max_length=16)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
