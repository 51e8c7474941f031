"""The audit trail: who changed what, filtered and paged."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from reservations import clock
from reservations.admin import labels
from reservations.admin.pages.console import base_context
from reservations.audit import service as audit
from reservations.auth.staff_session import AdminPage
from reservations.http import DbSession
from reservations.web.templating import render_page

router = APIRouter(include_in_schema=False)


AUDIT_PAGE = 50


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


@router.get("/admin/audit")
def audit_page(
    request: Request,
    session: DbSession,
    principal: AdminPage,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    filters = {"actor": actor or "", "action": action or "", "target": target or ""}
    entries = audit.recent(
        session,
        AUDIT_PAGE + 1,
        actor=actor or None,
        action=action or None,
        target=target or None,
        before_id=before_id,
    )
    older = None
    if len(entries) > AUDIT_PAGE:
        entries = entries[:AUDIT_PAGE]
        older = "/admin/audit?" + urlencode(
            {**{k: v for k, v in filters.items() if v}, "before_id": entries[-1].id}
        )
    return render_page(
        request,
        "admin/audit.html",
        base_context(
            principal,
            entries=[
                (
                    entry,
                    audit.changes(entry.before, entry.after),
                    _json(entry.before),
                    _json(entry.after),
                )
                for entry in entries
            ],
            filters=filters,
            actions=sorted(set(audit.actions(session)) | set(labels.ACTIONS)),
            older=older,
            paged=before_id is not None,
            zone=clock.zone(),
        ),
    )
