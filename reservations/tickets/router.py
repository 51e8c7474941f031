from fastapi import APIRouter
from fastapi.responses import Response

from reservations.errors import NotFound
from reservations.http import DbSession
from reservations.tickets import qr, service

router = APIRouter(tags=["tickets"])

# A ticket's QR never changes once issued, so browsers and proxies may keep it.
_CACHE = "public, max-age=86400, immutable"


def _payload(session: DbSession, ticket_id: str) -> str:
    ticket = service.get(session, ticket_id.upper())
    if ticket is None:
        raise NotFound()
    return ticket.qr_payload


@router.get("/tickets/{ticket_id}/qr.png", response_class=Response)
def qr_png(ticket_id: str, session: DbSession) -> Response:
    png = qr.png(_payload(session, ticket_id))
    return Response(png, media_type="image/png", headers={"Cache-Control": _CACHE})


@router.get("/tickets/{ticket_id}/qr.svg", response_class=Response)
def qr_svg(ticket_id: str, session: DbSession) -> Response:
    svg = qr.svg(_payload(session, ticket_id))
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": _CACHE})
