from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class RunTrigger(StrEnum):
    """``JobRun.trigger``: what started a run."""

    SCHEDULED = "scheduled"  # the scheduler, or ``reservations run-job --due`` from cron
    MANUAL = "manual"  # an admin, through the API or the console
    COMMAND = "command"  # ``reservations run-job NAME``


class RunOutcome(StrEnum):
    """``JobRun.outcome``: a run's status."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # Shown, never stored: a run still "running" after its lease ended (its process died).
    INTERRUPTED = "interrupted"


class JobRun(SQLModel, table=True):
    """One run of a job: the history admins see, and the claim of a scheduled occurrence.

    A scheduled occurrence (a job on a given day) is claimed by inserting its row; the
    unique index on ``(name, occurrence)`` lets exactly one scheduler, worker or machine
    insert it. Manual runs have no occurrence (NULLs never collide).
    """

    __tablename__ = "job_run"
    __table_args__ = (Index("uq_job_run_occurrence", "name", "occurrence", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, index=True)
    trigger: str = Field(max_length=16)
    holder: str = Field(max_length=128)
    occurrence: str | None = Field(default=None, max_length=32)
    attempt: int = 1
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    # Until then the holder is presumed alive; a scheduled run still running after it is
    # taken over by the next sweep of any scheduler.
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    outcome: str = Field(default=RunOutcome.RUNNING, max_length=16)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
