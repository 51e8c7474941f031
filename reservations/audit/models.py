from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class AuditEntry(SQLModel, table=True):
    """Append-only: the database refuses UPDATE and DELETE on this table (see migrations)."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    target: str = Field(max_length=200)
    before: Any = Field(default=None, sa_column=Column(JSON))
    after: Any = Field(default=None, sa_column=Column(JSON))
