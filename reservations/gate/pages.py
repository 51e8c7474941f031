"""The scanner page for staff at the entrance (``/gate``), and the same-origin JSON it talks to.

The page's script cannot hold a bearer token, so it calls these endpoints with the staff
session cookie and the page's CSRF token in an ``X-CSRF-Token`` header; they call the same
services as ``/api/v1/gate/...``. They answer JSON in every case, errors included,
except a missing session, which redirects to the login like every staff page.

The page is an installable web app that keeps working offline: a manifest, and a service
worker whose scope is ``/gate`` that keeps the page and its files (see ``templates/gate/sw.js``).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, TypeAdapter, ValidationError
from sqlmodel import Session

from reservations import languages, resources
from reservations.auth.staff_session import StaffPage
from reservations.errors import DomainError, ValidationFailed
from reservations.gate import answers, offline, service
from reservations.gate.answers import lookup_answer, scan_answer
from reservations.gate.messages import verdict_messages
from reservations.gate.offline_router import offline_data_answer, offline_scans_answer
from reservations.gate.offline_schemas import OfflineScansIn
from reservations.gate.schemas import ExitsIn, ExitsOut, GateName, LookupIn, OccupancyOut, ScanIn
from reservations.http import DbSession, error_body, language_of, undo_refused
from reservations.privacy.documents import DOCUMENT_KINDS
from reservations.web import csrf, i18n
from reservations.web.static import static_url
from reservations.web.templating import environment, render_page

router = APIRouter(include_in_schema=False)

PAGE = "/gate"
CSRF_HEADER = "X-CSRF-Token"
JsonBody = Annotated[dict[str, Any], Body()]
CsrfHeader = Annotated[str | None, Header(alias=CSRF_HEADER, max_length=100)]

# What the service worker keeps for the page to open without the network. Every file the
# page loads is here (a test holds the page to it).
OFFLINE_FILES = (
    "app.css",
    "gate/scan.css",
    "gate/offline.js",
    "gate/scan.js",
    "gate/vendor/jsQR.js",
    "gate/vendor/noble-ed25519.js",
    "gate/icon.svg",
    "gate/icon-192.png",
    "gate/icon-512.png",
)


def offline_assets() -> list[str]:
    """The versioned URLs the page loads its files from, which the worker keeps."""
    return [static_url(name) for name in OFFLINE_FILES]


@router.get(PAGE)
def scanner(request: Request, principal: StaffPage, session: DbSession) -> Response:
    language = language_of(request)
    return render_page(
        request,
        "gate/scan.html",
        {
            "principal": principal,
            "occupancy": service.current_occupancy(session),
            "verdicts": json.dumps(verdict_messages(language), ensure_ascii=False),
            "refresh_seconds": offline.REFRESH_SECONDS,
            "id_types": [(kind.value, kind.label) for kind in DOCUMENT_KINDS],
        },
    )


@router.get("/staff/scan")
def old_address() -> Response:
    """Where the scanner page used to be: bookmarks and installed shortcuts still work."""
    return RedirectResponse(PAGE, status_code=308)


# --- the installable app ----------------------------------------------------------------------


@cache
def offline_version() -> str:
    """Changes whenever a kept file or the worker itself changes: a new cache replaces the old."""
    digest = hashlib.sha256()
    for name in OFFLINE_FILES:
        digest.update(name.encode())
        digest.update((resources.static_dir() / name).read_bytes())
    digest.update((resources.templates_dir() / "gate" / "sw.js").read_bytes())
    return digest.hexdigest()[:16]


@router.get(f"{PAGE}/sw.js")
def service_worker() -> Response:
    script = (
        environment()
        .get_template("gate/sw.js")
        .render(
            version=offline_version(),
            page=PAGE,
            assets=json.dumps(offline_assets()),
        )
    )
    return Response(
        script,
        media_type="text/javascript",
        headers={
            # Registered with scope /gate (the page itself), above the script's own folder.
            "Service-Worker-Allowed": PAGE,
            # Browsers check for a new worker on every visit; never from a stale cache.
            "Cache-Control": "no-cache",
        },
    )


Lang = Annotated[str | None, Query(max_length=5)]


@router.get(f"{PAGE}/manifest.webmanifest")
def manifest(lang: Lang = None) -> Response:
    # Browsers fetch manifests without cookies: the page says its language in the link.
    language = languages.known(lang)
    with i18n.speaking(language, area="gate"):
        name = i18n.gettext("郑州网络安全科技馆 · 扫码核验")
        short_name = i18n.gettext("扫码核验")
        description = i18n.gettext("入馆扫码核验；断网时在本机核验，联网后自动上传。")
    document = {
        "name": name,
        "short_name": short_name,
        "description": description,
        "lang": languages.language(language).tag,
        "id": PAGE,
        "start_url": PAGE,
        "scope": PAGE,
        "display": "standalone",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#0b5cab",
        "icons": [
            {"src": static_url("gate/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static_url("gate/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static_url("gate/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return Response(
        json.dumps(document, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


# --- the JSON the page calls --------------------------------------------------------------------


def _json_error(request: Request, error: DomainError) -> JSONResponse:
    return JSONResponse(
        error_body(error.code, error.message(language_of(request)), error.details),
        status_code=error.status,
    )


Model = TypeVar("Model", bound=BaseModel)


def _problems(exc: ValidationError) -> ValidationFailed:
    fields = [
        {
            "field": ".".join(str(part) for part in problem["loc"]) or "body",
            "problem": problem["msg"],
        }
        for problem in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    return ValidationFailed({"fields": fields})


def _parse(model: type[Model], body: dict[str, Any]) -> Model:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _problems(exc) from None


def _posted(
    request: Request,
    session: Session,
    csrf_token: str | None,
    model: type[Model],
    body: dict[str, Any],
) -> Model | Response:
    """What the scanner posted, checked; or the refusal, answered (not raised, so the page
    gets JSON) after undoing whatever was begun."""
    try:
        csrf.check(request, csrf_token)
        return _parse(model, body)
    except DomainError as error:
        return _refused(request, session, error)


def _refused(request: Request, session: Session, error: DomainError) -> Response:
    undo_refused(session, error)
    return _json_error(request, error)


@router.post(f"{PAGE}/check")
def check(
    request: Request,
    principal: StaffPage,
    session: DbSession,
    body: JsonBody,
    csrf_token: CsrfHeader = None,
) -> Response:
    scan_in = _posted(request, session, csrf_token, ScanIn, body)
    if isinstance(scan_in, Response):
        return scan_in
    try:
        outcome = answers.scan(session, scan_in, principal.username)
    except DomainError as error:
        return _refused(request, session, error)
    view = scan_answer(outcome, language_of(request))
    return JSONResponse(view.model_dump(mode="json", by_alias=True))


@router.post(f"{PAGE}/lookup")
def lookup(
    request: Request,
    _principal: StaffPage,
    session: DbSession,
    body: JsonBody,
    csrf_token: CsrfHeader = None,
) -> Response:
    """A printed ticket number, looked up for staff to compare the masked name before they
    admit it (a POST: the number stays out of addresses and logs)."""
    lookup_in = _posted(request, session, csrf_token, LookupIn, body)
    if isinstance(lookup_in, Response):
        return lookup_in
    view = lookup_answer(service.look_up(session, lookup_in.ticket_number), language_of(request))
    return JSONResponse(view.model_dump(mode="json", by_alias=True))


@router.post(f"{PAGE}/exits")
def exits(
    request: Request,
    principal: StaffPage,
    session: DbSession,
    body: JsonBody,
    csrf_token: CsrfHeader = None,
) -> Response:
    exits_in = _posted(request, session, csrf_token, ExitsIn, body)
    if isinstance(exits_in, Response):
        return exits_in
    occupancy = service.count_exits(
        session, gate=exits_in.gate, count=exits_in.count, actor=principal.username
    )
    return JSONResponse(ExitsOut(occupancy=OccupancyOut.of(occupancy)).model_dump(mode="json"))


_SINCE = TypeAdapter(AwareDatetime)


_DEVICE = TypeAdapter(GateName)


@router.get(f"{PAGE}/offline-data")
def offline_data(
    request: Request,
    principal: StaffPage,
    session: DbSession,
    since: Annotated[str | None, Query(max_length=64)] = None,
    device: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The offline data and, for the page's own device name, its lease (renewed each time:
    the page asks every minute while online)."""
    try:
        cursor = _SINCE.validate_python(since) if since else None
        name = _DEVICE.validate_python(device) if device is not None else None
    except ValidationError as exc:
        return _json_error(request, _problems(exc))
    answer = offline_data_answer(session, cursor, name, principal.username)
    return JSONResponse(answer.model_dump(mode="json"))


@router.post(f"{PAGE}/offline-scans")
def offline_scans(
    request: Request,
    principal: StaffPage,
    session: DbSession,
    body: JsonBody,
    csrf_token: CsrfHeader = None,
) -> Response:
    upload = _posted(request, session, csrf_token, OfflineScansIn, body)
    if isinstance(upload, Response):
        return upload
    answer = offline_scans_answer(session, upload, principal.username, language_of(request))
    return JSONResponse(answer.model_dump(mode="json"))
