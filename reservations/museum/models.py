from datetime import date, datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class Notice(SQLModel, table=True):
    """A notice to visitors (closures, works, holiday hours), shown from ``starts_on`` until
    ``ends_on`` (either may be open) on the home page and with every booking."""

    __tablename__ = "notice"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=500)
    text_en: str = Field(default="", max_length=500)
    starts_on: date | None = Field(default=None, index=True)
    ends_on: date | None = Field(default=None)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_by: str = Field(max_length=64)
