from datetime import date, datetime

from sqlalchemy import Column, Index, Integer, text
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class OccupancyCounter(SQLModel, table=True):
    """People inside the building on a day; entries take places with a conditional UPDATE.

    ``leased`` is the places offline scanners' leases hold (``OfflineLease``): online
    admissions count in only while ``inside + people + leased`` stays within the limit, in
    the same statement, so the places a scanner may fill without the network stay free.
    """

    __tablename__ = "occupancy_counter"

    day: date = Field(primary_key=True)
    inside: int = 0
    entered: int = 0
    exited: int = 0
    leased: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


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
    # The lease that covered the device's admission, or why none did (``offline.PROBLEMS``):
    # such a scan is a problem for admins, never an ordinary admission.
    lease_id: int | None = None
    problem: str | None = Field(default=None, max_length=16, index=True)


class OfflineLease(SQLModel, table=True):
    """A scanner's share of the live limit while it may lose the network.

    Granted by ``GET /gate/offline-data?device=``: ``allowance`` people at most, until
    ``until``; the places it still holds (``allowance - used``) are counted in the day's
    ``occupancy_counter.leased`` while it has not ended. A new fetch renews it; it ends at
    its time or when the device uploads, and what it did not use returns.

    Scans uploaded later are covered by it when they happened from ``covers_from`` (the
    fetch before the latest one: the device may have gone offline right after it) until it
    ended, and within its allowance.
    """

    __tablename__ = "offline_lease"
    # One lease that has not ended per device.
    __table_args__ = (
        Index(
            "uq_offline_lease_live_device",
            "device",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    device: str = Field(max_length=64, index=True)
    day: date = Field(index=True)
    # The staff user whose fetch granted (or last renewed) it.
    issued_to: str = Field(max_length=64)
    began_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    covers_from: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    renewed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    until: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # People it may admit in all, and those its uploads admitted so far.
    allowance: int
    used: int = 0
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # uploaded, expired, closed (the day ended) or revoked (the device was).
    end_reason: str | None = Field(default=None, max_length=16)
