"""``PUT /api/v1/test/clock``: exists only when the service started with a frozen clock."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel

from reservations import clock
from reservations.rehearsal import service
from reservations.settings import get_settings

router = APIRouter(prefix="/test", tags=["rehearsal"])


class ClockIn(BaseModel):
    now: AwareDatetime


class ClockOut(BaseModel):
    now: datetime


@router.put("/clock", response_model=ClockOut)
def move_clock(body: ClockIn) -> ClockOut:
    return ClockOut(now=service.FrozenClock(get_settings().data_dir).move(body.now))


@router.get("/clock", response_model=ClockOut)
def read_clock() -> ClockOut:
    return ClockOut(now=clock.now())
