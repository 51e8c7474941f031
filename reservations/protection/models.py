from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from reservations.dbtypes import UTCDateTime


class SpentChallenge(SQLModel, table=True):
    """A proof-of-work challenge already used for a booking, until it expires: what makes a
    solution single-use across every process and machine when there is no Redis."""

    __tablename__ = "spent_challenge"

    nonce: str = Field(primary_key=True, max_length=32)
    # Which request spent it (its body and Idempotency-Key): that request may retry.
    request_mark: str = Field(max_length=32)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
