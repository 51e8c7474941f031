from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import Response
from fastapi.types import DecoratedCallable
from pydantic import BaseModel

from reservations.booking import placement, service
from reservations.booking.schemas import (
    AvailabilityOut,
    BookingOut,
    BookingRequest,
    LookupOut,
    LookupRequest,
)
from reservations.http import DbSession, Language, json_response, view_response
from reservations.protection.guard import guard_booking, guard_lookup

router = APIRouter(tags=["booking"])

BookingToken = Annotated[str | None, Header(alias="X-Booking-Token", max_length=200)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def once_for(scope: str, key: str | None, body: BaseModel) -> placement.Once | None:
    """The ``Idempotency-Key`` of a creating request, if it sent one."""
    return None if key is None else placement.Once.for_request(scope, key, body)


def creates(
    router: APIRouter, path: str, answer: type[BaseModel]
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A public endpoint that places something (a booking, a team request, a waiting
    entry): ``201`` with ``answer``, behind the booking guard (rates, proof of work)."""
    return router.post(
        path, status_code=201, response_model=answer, dependencies=[Depends(guard_booking)]
    )


def created_response(created: placement.Created) -> Response:
    return json_response(created.body, created.status_code)


@router.get("/availability", response_model=AvailabilityOut)
def availability(
    session: DbSession, start: Annotated[date, Query()], end: Annotated[date, Query()]
) -> Any:
    return json_response(service.calendar(session, start, end).body)


@creates(router, "/bookings", BookingOut)
def create_booking(
    body: BookingRequest,
    session: DbSession,
    language: Language,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Book; a retry with the same ``Idempotency-Key`` and body gets the first answer."""
    once = once_for("booking", idempotency_key, body)
    return created_response(service.create(session, body, language, once))


@router.get("/bookings/{reference}", response_model=BookingOut)
def read_booking(reference: str, session: DbSession, token: BookingToken = None) -> Any:
    return view_response(service.read(session, reference, token))


@router.post("/bookings/{reference}/cancel", response_model=BookingOut)
def cancel_booking(reference: str, session: DbSession, token: BookingToken = None) -> Any:
    return view_response(service.cancel(session, reference, token))


@router.post("/bookings/lookup", response_model=LookupOut, dependencies=[Depends(guard_lookup)])
def lookup(body: LookupRequest, session: DbSession) -> LookupOut:
    return LookupOut(bookings=service.lookup(session, body))
