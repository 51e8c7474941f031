import hashlib
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from reservations.errors import NotFound
from reservations.http import DbSession
from reservations.tickets import links, qr, service

router = APIRouter(tags=["tickets"])

# A ticket's QR never changes once issued, so the visitor's browser may keep it; it admits
# its holder, so shared caches may not.
_CACHE = "private, max-age=86400, immutable"


Signature = Annotated[
    str | None,
    Query(
        max_length=64,
        description="the authorisation that comes with qr_png_url / qr_svg_url: follow those "
        "links exactly as given; without it the image is not found",
    ),
]


def _payload(session: DbSession, ticket_id: str, sig: str | None) -> str:
    # The ticket number is printed under the code: alone, it must not give the code away.
    if not links.is_signed(ticket_id, sig):
        raise NotFound()
    ticket = service.get(session, ticket_id.strip().upper())
    if ticket is None:
        raise NotFound()
    return ticket.qr_payload


def _image(request: Request, payload: str, kind: str) -> Response:
    # The image follows from the token alone: its hash is a strong validator.
    etag = '"' + hashlib.sha256(f"{kind}:{payload}".encode()).hexdigest()[:32] + '"'
    headers = {"Cache-Control": _CACHE, "ETag": etag}
    media_type = "image/png" if kind == "png" else "image/svg+xml"
    if etag in {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    body = qr.png(payload) if kind == "png" else qr.svg(payload)
    return Response(body, media_type=media_type, headers=headers)


@router.get(
    "/tickets/{ticket_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def qr_png(ticket_id: str, request: Request, session: DbSession, sig: Signature = None) -> Response:
    return _image(request, _payload(session, ticket_id, sig), "png")


@router.get(
    "/tickets/{ticket_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
def qr_svg(ticket_id: str, request: Request, session: DbSession, sig: Signature = None) -> Response:
    return _image(request, _payload(session, ticket_id, sig), "svg")
