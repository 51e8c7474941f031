"""``/metrics`` for Prometheus and ``/health/ready`` for load balancers."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from reservations import db
from reservations.accounts import service as accounts
from reservations.accounts.models import ADMIN
from reservations.auth.bearer import bearer
from reservations.ops import metrics, readiness
from reservations.settings import get_settings

router = APIRouter(tags=["health"])


@lru_cache(maxsize=4)
def _networks(text: str | None) -> tuple[Any, ...]:
    return metrics.allowed_networks(text)


def may_read_metrics(request: Request, token: Annotated[str | None, Depends(bearer)]) -> None:
    """From an address in ``RESERVATIONS_METRICS_ALLOW``, or with an admin's token."""
    address = request.client.host if request.client else None
    if metrics.address_allowed(address, _networks(get_settings().metrics_allow)):
        return
    with db.transaction(write=False) as session:
        accounts.require(accounts.resolve(session, token), ADMIN)


@router.get(
    "/metrics",
    dependencies=[Depends(may_read_metrics)],
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        401: {"description": "neither an allowed address nor a token"},
        403: {"description": "not an admin"},
    },
    summary="Metrics in the Prometheus text format (admins, or allowed addresses)",
)
def read_metrics() -> Response:
    body, content_type = metrics.exposition(metrics.StateCollector())
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


@router.get(
    "/health/ready",
    responses={503: {"description": "the database (or Redis) cannot be reached"}},
    summary="Whether this server can serve: its database answers, and Redis when set",
)
def ready() -> dict[str, Any]:
    return {"status": "ok", "checks": readiness.require_ready()}
