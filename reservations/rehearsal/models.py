from sqlmodel import Field, SQLModel


class ClockMark(SQLModel, table=True):
    """Which clock a database serves: ``real`` or ``rehearsal`` (one row, set on first start).

    A rehearsal's future-dated admissions and append-only audit entries must never mix with
    the museum's real records, so a database keeps the clock it was first used with.
    """

    __tablename__ = "clock_mark"

    id: int = Field(default=1, primary_key=True)
    mode: str = Field(max_length=16)
