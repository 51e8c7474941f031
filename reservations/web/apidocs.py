"""The API's own documentation: ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served
entirely by the service, and the OpenAPI document with an example for every request body.

Swagger UI and ReDoc come from the fastapi-offline package (under ``/static/api-docs/``);
the pages start them from a script file, not inline, and only these two pages loosen the
content security policy, for the styles those bundles inject (see ``web.headers``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    return render_page(request, "api/swagger.html", {"openapi_url": request.app.openapi_url})


@router.get("/redoc")
def redoc(request: Request) -> Response:
    return render_page(request, "api/redoc.html", {"openapi_url": request.app.openapi_url})


_RESIDENT_ID = "11010519491231002X"  # GB 11643's own example: valid, and nobody's
_TICKET = (
    "ZT1.ABCDEFGH.7K2M9Q4X5T.20260310.0900.1."
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "234567ABCDEFG"
)

# One example per request body, keyed by method and path: what a newcomer copies to make
# the call work (the README shows the same bodies).
REQUEST_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/bookings"): {
        "date": "2026-03-10",
        "slot_id": "0900",
        "phone": "13800138000",
        "consent": True,
        "visitors": [{"name": "张三", "id_type": "resident_id", "id_number": _RESIDENT_ID}],
        "email": "visitor@example.com",
    },
    # The body of a booking; a null (or absent) slot_id waits for any slot of the day.
    ("post", "/api/v1/waiting-list"): {
        "date": "2026-03-10",
        "slot_id": None,
        "phone": "13800138000",
        "consent": True,
        "visitors": [{"name": "张三", "id_type": "resident_id", "id_number": _RESIDENT_ID}],
        "email": "visitor@example.com",
    },
    ("post", "/api/v1/bookings/lookup"): {
        "phone": "13800138000",
        "id_type": "resident_id",
        "id_number": _RESIDENT_ID,
    },
    ("post", "/api/v1/team-bookings"): {
        "date": "2026-03-12",
        "slot_id": "0900",
        "organization": "郑州市第一中学",
        "size": 35,
        "leader": {
            "name": "李四",
            "id_type": "resident_id",
            "id_number": "410105198004020018",
            "phone": "13900139000",
        },
        "consent": True,
    },
    ("post", "/api/v1/auth/token"): {"username": "admin", "password": "a long password"},
    ("patch", "/api/v1/admin/rules"): {"occupancy": {"instantaneous_limit": 500}},
    ("post", "/api/v1/admin/rules/preview"): {
        "individual": {"daily_quota": 800},
        "occupancy": {"instantaneous_limit": 500},
    },
    ("put", "/api/v1/admin/days/{date}"): {
        "closed": True,
        "note": "设备维护，暂停开放一天",
    },
    ("post", "/api/v1/admin/users"): {
        "username": "gate1",
        "password": "at least ten characters",
        "role": "staff",
    },
    ("post", "/api/v1/admin/users/{username}/reset-password"): {
        "password": "another long password"
    },
    ("post", "/api/v1/admin/team-bookings/{reference}/reject"): {
        "reason": "当天已有大型活动，请改约其他日期。"
    },
    ("post", "/api/v1/gate/scan"): {
        "payload": _TICKET,
        "gate": "east-1",
        "direction": "in",
        "headcount": None,
        "party": False,
    },
    ("post", "/api/v1/gate/lookup"): {"ticket_number": "8K2M9QZT4W7R"},
    ("post", "/api/v1/gate/exits"): {"gate": "east-exit", "count": 3},
    ("post", "/api/v1/gate/offline-scans"): {
        "device": "tablet-3",
        "scans": [
            {
                "id": "5f0c6b8e-2d4a-4f3e-9b1a-7c2d8e9f0a1b",
                "payload": _TICKET,
                "gate": "east-1",
                "direction": "in",
                "at": "2026-03-10T09:12:30+08:00",
                "headcount": None,
            }
        ],
        "more": False,
    },
    ("put", "/api/v1/test/clock"): {"now": "2026-03-10T08:30:00+08:00"},
    # Today's visitor at the desk: no phone needed, the notice read out to them.
    ("post", "/api/v1/desk/bookings"): {
        "date": "2026-03-10",
        "slot_id": "1100",
        "consent": True,
        "sensitive_consent": True,
        "visitors": [{"name": "王秀英", "id_type": "resident_id", "id_number": _RESIDENT_ID}],
    },
    ("post", "/api/v1/desk/identity"): {"id_type": "resident_id", "id_number": _RESIDENT_ID},
    ("post", "/api/v1/desk/bookings/{reference}/cancel"): {"reason": "证件号码被他人冒用"},
    ("post", "/api/v1/desk/identity/lift-ban"): {
        "id_type": "resident_id",
        "id_number": _RESIDENT_ID,
        "reason": "证件号码被他人冒用，爽约并非本人",
    },
    ("post", "/api/v1/admin/notices"): {
        "text": "3月14日下午二层展区维护，其余展区照常开放。",
        "text_en": "On 14 March in the afternoon the second floor is closed for maintenance.",
        "starts_on": "2026-03-10",
        "ends_on": "2026-03-14",
    },
    ("put", "/api/v1/admin/notices/{notice_id}"): {
        "text": "3月14日全天二层展区维护，其余展区照常开放。",
        "text_en": "On 14 March the second floor is closed all day for maintenance.",
        "starts_on": "2026-03-10",
        "ends_on": "2026-03-14",
    },
}

DESCRIPTION = """
The visitor reservation system of the Zhengzhou Cybersecurity Science and Technology Museum.

- JSON bodies in UTF-8; a **date** is `YYYY-MM-DD` in the museum's time zone, a **datetime**
  ISO 8601 with an offset.
- **Errors** always read `{"error": {"code": "...", "message": "...", "details": {...}}}`;
  the message follows `Accept-Language` (Chinese by default, `en` for English).
- **Staff and admin** calls need `Authorization: Bearer <token>` from `POST /api/v1/auth/token`
  (press *Authorize* and sign in here to try them).
- A booking's `manage_token` authorises reading and cancelling it (`X-Booking-Token`).
"""


def install(app: FastAPI) -> None:
    """Serve the documentation pages and put the examples into the OpenAPI document."""
    app.include_router(router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = FastAPI.openapi(app)
            document["info"]["description"] = DESCRIPTION.strip()
            add_examples(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_examples(document: dict[str, Any]) -> None:
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            example = REQUEST_EXAMPLES.get((method, path))
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if example is None or body is None:
                continue
            for media in body.get("content", {}).values():
                media["example"] = example
