"""Errors on pages: an HTML page in the visitor's language, or the login for staff pages."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from reservations.auth.staff_session import LoginRequired
from reservations.errors import DomainError, NotFound, ValidationFailed
from reservations.http import language_of
from reservations.web.i18n import gettext as _
from reservations.web.templating import render_page

_STAFF_AREAS = ("/staff", "/admin")


class BrokenLink(NotFound):
    """A page's address that names no page: a date like 2027-02-30, a word for a date."""

    msgid = "这个链接有误，找不到对应的页面。"


class UnknownDay(BrokenLink):
    msgid = "链接中的日期不存在（例如2月30日），请从日历中重新选择日期。"


def _as_broken_link(exc: DomainError) -> DomainError:
    """A GET of a page whose address does not parse is a link to nothing: 404, not 422."""
    if not isinstance(exc, ValidationFailed):
        return exc
    fields = [str(item.get("field", "")) for item in exc.details.get("fields", [])]
    if not fields or not all(field.startswith("path.") for field in fields):
        return exc
    if any(field in ("path.day", "path.date") for field in fields):
        return UnknownDay()
    return BrokenLink()


def page_error(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/staff/login?next={quote(target)}", status_code=303)
    exc = _as_broken_link(exc)
    staff_area = request.url.path.startswith(_STAFF_AREAS)
    return render_page(
        request,
        "error.html",
        {
            "code": exc.code,
            "message": exc.message(language_of(request)),
            "status": exc.status,
            "staff_area": staff_area,
            "home": ("/staff", _("返回工作台")) if staff_area else ("/", _("返回首页")),
        },
        status_code=exc.status,
    )
