"""What the visitor's pages show of a booking, wherever it is shown (its own page, "my
bookings", a confirmed waiting list entry): its tickets, its entry hours, its private link.

Those links carry the booking's token: every answer that shows or leads to one is kept out
of caches, referrers and search engines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from reservations.booking.schemas import BookingOut
from reservations.gate import service as gate
from reservations.rules.schema import Rules
from reservations.tickets.models import TicketStatus
from reservations.visitor.text import ticket_status
from reservations.web.templating import render_page

PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def private_headers() -> dict[str, str]:
    """A fresh copy: a response may add its own headers to it."""
    return dict(PRIVATE_HEADERS)


def manage_path(reference: str, token: str) -> str:
    """The booking's private page."""
    return f"/my/{quote(reference)}/{quote(token)}"


def redirect(path: str, headers: dict[str, str]) -> RedirectResponse:
    """After a form that changed something: the page that shows it (303, never cached)."""
    return RedirectResponse(path, status_code=303, headers=headers)


def just_booked(reference: str, token: str, headers: dict[str, str]) -> RedirectResponse:
    """A new booking's own page, with its tickets (its token is shown this once)."""
    return redirect(manage_path(reference, token) + "?booked=1", headers)


def site_url(request: Request, path: str) -> str:
    """``path`` as a full address on the site as the visitor reached it (to copy and keep)."""
    return str(request.base_url).rstrip("/") + path


def just_done(request: Request, *actions: str) -> dict[str, bool]:
    """What the redirect to a private page says was just done: ``?booked=1`` gives
    ``just_booked``, and so on for each of ``actions``."""
    return {f"just_{action}": request.query_params.get(action) == "1" for action in actions}


def private_page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """A page that shows a private link (or what it opens)."""
    return render_page(
        request, template, context, status_code=status_code, headers=private_headers()
    )


def record_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    link: tuple[str, str],
    done: tuple[str, ...],
    problems: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """A booking's or a waiting entry's private page: ``link`` names its private link and
    gives its path (``("manage", path)`` sets ``manage_path`` and ``manage_url``), ``done``
    the actions a redirect may say were just done, ``problems`` what a refusal found."""
    name, path = link
    context.update(
        {
            f"{name}_path": path,
            f"{name}_url": site_url(request, path),
            **just_done(request, *done),
            "problems": problems or {},
        }
    )
    return private_page(request, template, context, status_code=status_code)


def visit_context(rules: Rules, booking: BookingOut) -> dict[str, Any]:
    """The booking's tickets, each with its words and image name, and its entry hours."""
    opens, closes = gate.entry_window(rules, booking.day, booking.slot.start, booking.slot.end)
    return {
        "tickets": [
            {
                "ticket": ticket,
                "number": number,
                "status": ticket_status(ticket.status, ticket.used),
                "usable": ticket.status == TicketStatus.VALID and not ticket.used,
                "filename": f"ticket-{booking.reference}-{number}.png",
            }
            for number, ticket in enumerate(booking.tickets, start=1)
        ],
        "entry_opens": f"{opens:%H:%M}",
        "entry_closes": f"{closes:%H:%M}",
    }
