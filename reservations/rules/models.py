from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class RulesDocument(SQLModel, table=True):
    """The museum rules in force: one row, the whole document, versioned."""

    __tablename__ = "rules_document"

    id: int = Field(default=1, primary_key=True)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version: int = 1
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_by: str = "seed"


class DayOverride(SQLModel, table=True):
    """A per-date exception to the weekly rules: close or open a day, change its quotas."""

    __tablename__ = "day_override"

    day: date = Field(primary_key=True)
    closed: bool | None = None
    # The day's quota of each channel it changes, by channel name (``rules.channels``);
    # a channel left out follows the rules.
    quotas: dict[str, int] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict)
    )
    note: str | None = Field(default=None, max_length=500)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_by: str

    def quota(self, channel: str) -> int | None:
        value = (self.quotas or {}).get(channel)
        return None if value is None else int(value)
