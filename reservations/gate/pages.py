"""The scanner page for staff at the entrance, and the same-origin JSON it talks to.

The page's script cannot hold a bearer token, so it calls these endpoints with the staff
session cookie and the page's CSRF token in an ``X-CSRF-Token`` header; they call the same
service as ``POST /api/v1/gate/scan``. They answer JSON in every case, errors included,
except a missing session, which redirects to the login like every staff page.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from reservations.errors import DomainError, ValidationFailed
from reservations.gate import service
from reservations.gate.messages import verdict_message
from reservations.gate.schemas import ExitsIn, ExitsOut, OccupancyOut, ScanIn, ScanOut
from reservations.http import DbSession, error_body, language_of, undo_refused
from reservations.web import csrf
from reservations.web.session import StaffPage
from reservations.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF_HEADER = "X-CSRF-Token"
JsonBody = Annotated[dict[str, Any], Body()]
CsrfHeader = Annotated[str | None, Header(alias=CSRF_HEADER, max_length=100)]


@router.get("/staff/scan")
def scanner(request: Request, principal: StaffPage, session: DbSession) -> Response:
    return render(
        request,
        "gate/scan.html",
        {"principal": principal, "occupancy": service.current_occupancy(session)},
    )


def _json_error(request: Request, error: DomainError) -> JSONResponse:
    return JSONResponse(
        error_body(error.code, error.message(language_of(request)), error.details),
        status_code=error.status,
    )


Model = TypeVar("Model", bound=BaseModel)


def _parse(model: type[Model], body: dict[str, Any]) -> Model:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        fields = [
            {
                "field": ".".join(str(part) for part in problem["loc"]) or "body",
                "problem": problem["msg"],
            }
            for problem in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise ValidationFailed({"fields": fields}) from None


@router.post("/staff/scan/check")
def check(
    request: Request,
    principal: StaffPage,
    session: DbSession,
    body: JsonBody,
    csrf_token: CsrfHeader = None,
) -> Response:
    try:
        csrf.check(request, csrf_token)
        scan_in = _parse(ScanIn, body)
        outcome = service.scan(
            session,
            scan_in.payload,
            gate=scan_in.gate,
            actor=principal.username,
            direction=scan_in.direction,
            headcount=scan_in.headcount,
        )
    except DomainError as error:
        # Answered, not raised, so the page gets JSON: undo whatever was begun.
        undo_refused(session, error)
        return _json_error(request, error)
    view = ScanOut.of(outcome, verdict_message(outcome.verdict, language_of(request)))
    return JSONResponse(view.model_dump(mode="json", by_alias=True))


@router.post("/staff/scan/exits")
def exits(
    request: Request,
    principal: StaffPage,
    session: DbSession,
    body: JsonBody,
    csrf_token: CsrfHeader = None,
) -> Response:
    try:
        csrf.check(request, csrf_token)
        exits_in = _parse(ExitsIn, body)
    except DomainError as error:
        undo_refused(session, error)
        return _json_error(request, error)
    occupancy = service.count_exits(
        session, gate=exits_in.gate, count=exits_in.count, actor=principal.username
    )
    return JSONResponse(ExitsOut(occupancy=OccupancyOut.of(occupancy)).model_dump(mode="json"))
