from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse

from reservations.booking import idempotency, service
from reservations.booking.schemas import (
    AvailabilityOut,
    BookingOut,
    BookingRequest,
    LookupOut,
    LookupRequest,
)
from reservations.http import DbSession, Language
from reservations.protection.guard import guard_booking, guard_lookup

router = APIRouter(tags=["booking"])

BookingToken = Annotated[str | None, Header(alias="X-Booking-Token", max_length=200)]


@router.get("/availability", response_model=AvailabilityOut)
def availability(
    session: DbSession, start: Annotated[date, Query()], end: Annotated[date, Query()]
) -> AvailabilityOut:
    return service.availability(session, start, end)


@router.post(
    "/bookings",
    status_code=201,
    response_model=BookingOut,
    dependencies=[Depends(guard_booking)],
)
def create_booking(
    body: BookingRequest,
    session: DbSession,
    language: Language,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    return run_idempotent(
        session,
        "booking",
        idempotency_key,
        body.model_dump(mode="json"),
        lambda: service.create(session, body, language).view,
    )


def run_idempotent(
    session: DbSession, scope: str, key: str | None, body: dict[str, Any], create: Any
) -> Any:
    """Create once per ``Idempotency-Key``; a retry gets the first response again."""
    if key is None:
        return create()
    replay = idempotency.claim(session, scope, key, idempotency.request_fingerprint(body))
    if replay is not None:
        return JSONResponse(replay.body, status_code=replay.status_code)
    view: BookingOut = create()
    payload = view.model_dump(mode="json", by_alias=True)
    idempotency.store(session, scope, key, 201, payload)
    return view


@router.get("/bookings/{reference}", response_model=BookingOut)
def read_booking(reference: str, session: DbSession, token: BookingToken = None) -> BookingOut:
    return service.read(session, reference, token)


@router.post("/bookings/{reference}/cancel", response_model=BookingOut)
def cancel_booking(reference: str, session: DbSession, token: BookingToken = None) -> BookingOut:
    return service.cancel(session, reference, token)


@router.post("/bookings/lookup", response_model=LookupOut, dependencies=[Depends(guard_lookup)])
def lookup(body: LookupRequest, session: DbSession) -> LookupOut:
    return LookupOut(bookings=service.lookup(session, body))
