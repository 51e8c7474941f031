from datetime import date, datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class OccupancyCounter(SQLModel, table=True):
    """People inside the building on a day; entries take places with a conditional UPDATE."""

    __tablename__ = "occupancy_counter"

    day: date = Field(primary_key=True)
    inside: int = 0
    entered: int = 0
    exited: int = 0


class GateScan(SQLModel, table=True):
    """Every scan and exit count, whatever its verdict."""

    __tablename__ = "gate_scan"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    ticket_id: str | None = Field(default=None, max_length=32, index=True)
    gate: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    direction: str = Field(max_length=8)
    verdict: str = Field(max_length=32)
    people: int = 0


# --- offline scanners ---------------------------------------------------------------------


class OfflineScan(SQLModel, table=True):
    """A scan a scanner judged without the network, uploaded later: one row per scan id.

    The id is chosen by the device and unique here, so an upload retried any number of
    times records each scan once and answers it as the first time.
    """

    __tablename__ = "offline_scan"

    id: str = Field(primary_key=True, max_length=64)
    device: str = Field(max_length=64)
    uploaded_by: str = Field(max_length=64)
    # What the scan said, hashed: the same id sent again with other content is refused.
    fingerprint: str = Field(max_length=64)
    gate: str = Field(max_length=64)
    direction: str = Field(max_length=8)
    # When the scan happened (the device's clock, corrected to the server's), and the
    # museum day it belongs to.
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    day: date = Field(index=True)
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    ticket_id: str | None = Field(default=None, max_length=32, index=True)
    headcount: int | None = None
    # The device's verdict at the gate ...
    device_admitted: bool
    device_reason: str | None = Field(default=None, max_length=32)
    # ... and the server's, once the scan was recorded.
    admitted: bool = False
    reason: str | None = Field(default=None, max_length=32)
    people: int = 0
    # The device let people in on a ticket the server does not admit (used elsewhere,
    # cancelled...): reported to admins.
    conflict: bool = Field(default=False, index=True)
    # The admission took occupancy past the live limit (the people were already inside).
    over_limit: bool = False


class GateSetting(SQLModel, table=True):
    """What admins set for one entrance; a gate without a row uses the rules' defaults."""

    __tablename__ = "gate_setting"

    gate: str = Field(primary_key=True, max_length=64)
    # Places an offline scanner at this gate keeps free below the live limit, for the
    # people other gates admit meanwhile.
    offline_margin: int
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_by: str = Field(max_length=64)
