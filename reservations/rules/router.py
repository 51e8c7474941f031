"""``/admin/rules`` and ``/admin/days``: the rules in force and per-date overrides."""

import datetime
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Self

from fastapi import APIRouter, Body, Header, Path, Query, Response
from pydantic import BaseModel, Field, create_model

from reservations.audit import service as audit
from reservations.auth.bearer import AdminUser
from reservations.errors import NotFound, field_error
from reservations.http import DbSession
from reservations.rules import channels, service
from reservations.rules.models import DayOverride
from reservations.rules.projection import project

router = APIRouter(prefix="/admin", tags=["admin: rules"])

MAX_OVERRIDE_LIST_DAYS = 366
DateInPath = Annotated[date, Path(alias="date", description="YYYY-MM-DD, the museum's date")]


def _etag(version: int) -> str:
    return f'"{version}"'


def _expected_version(if_match: str | None) -> int | None:
    """``If-Match: "12"`` (the ETag of GET /admin/rules) guards against lost updates."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise field_error("If-Match", "expected the ETag of GET /admin/rules")
    return int(tag)


@router.get("/rules", summary="The rules in force (ETag: their version)")
def get_rules(session: DbSession, _: AdminUser, response: Response) -> dict[str, Any]:
    rules = service.current(session)
    response.headers["ETag"] = _etag(service.version(session))
    return service.to_document(rules)


RulesPatch = Annotated[
    dict[str, Any],
    Body(
        description="Any subset of the rules; objects merge key by key, a list (slots) "
        "replaces the whole list. The result is validated whole.",
        examples=[{"occupancy": {"instantaneous_limit": 500}}],
    ),
]


@router.patch("/rules", summary="Change some rules; invalid values change nothing")
def patch_rules(
    session: DbSession,
    admin: AdminUser,
    patch: RulesPatch,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match", max_length=40)] = None,
) -> dict[str, Any]:
    rules = service.update(session, patch, admin.username, _expected_version(if_match))
    response.headers["ETag"] = _etag(service.version(session))
    return service.to_document(rules)


class RulesPreviewOut(BaseModel):
    rules: dict[str, Any]
    changes: list[dict[str, Any]]
    projection: dict[str, Any]
    warnings: list[dict[str, Any]]


def projection_warnings(peak: dict[str, Any]) -> list[dict[str, Any]]:
    if not peak["exceeds_limit"]:
        return []
    return [
        {
            "code": "projected_peak_above_limit",
            "peak": peak["peak"],
            "instantaneous_limit": peak["instantaneous_limit"],
            "from": peak["peak_start"],
            "until": peak["peak_end"],
        }
    ]


@router.post(
    "/rules/preview",
    response_model=RulesPreviewOut,
    summary="What a PATCH would make, with the projected peak occupancy; saves nothing",
)
def preview_rules(session: DbSession, _: AdminUser, patch: RulesPatch) -> RulesPreviewOut:
    current = service.current(session)
    proposed = service.merged(current, patch)
    peak = project(proposed).as_dict()
    return RulesPreviewOut(
        rules=service.to_document(proposed),
        changes=[
            change.as_dict()
            for change in audit.changes(service.to_document(current), service.to_document(proposed))
        ],
        projection=peak,
        warnings=projection_warnings(peak),
    )


class _DayOverrideShown(BaseModel):
    date: date
    closed: bool | None
    note: str | None
    updated_by: str

    @classmethod
    def of(cls, override: DayOverride) -> Self:
        return cls.model_validate(
            {
                "date": override.day,
                **(service.override_document(override) or {}),
                "updated_by": override.updated_by,
            }
        )

    @classmethod
    def following_the_rules(cls, day: datetime.date, actor: str) -> Self:
        return cls.model_validate({"date": day, "closed": None, "note": None, "updated_by": actor})


if TYPE_CHECKING:
    DayOverrideOut = _DayOverrideShown
else:
    # ``date``, ``closed``, each channel's ``<channel>_quota`` (rules.channels), ``note``.
    DayOverrideOut = create_model(
        "DayOverrideOut",
        __base__=_DayOverrideShown,
        **{channel.quota_field: (int | None, Field(default=None)) for channel in channels.CHANNELS},
    )


class DayOverridesOut(BaseModel):
    days: list[DayOverrideOut]


@router.get("/days", response_model=DayOverridesOut, summary="The overrides between two dates")
def list_days(
    session: DbSession,
    _: AdminUser,
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
) -> DayOverridesOut:
    if end < start:
        raise field_error("end", "must not be before start")
    if (end - start).days >= MAX_OVERRIDE_LIST_DAYS:
        raise field_error("end", f"at most {MAX_OVERRIDE_LIST_DAYS} days per call")
    overrides = service.overrides_between(session, start, end)
    return DayOverridesOut(days=[DayOverrideOut.of(overrides[day]) for day in sorted(overrides)])


@router.put(
    "/days/{date}",
    response_model=DayOverrideOut,
    summary="Set the date's override to exactly this (fields left out follow the rules)",
)
def put_day(
    day: DateInPath, body: service.DayOverrideChange, session: DbSession, admin: AdminUser
) -> DayOverrideOut:
    override = service.put_override(session, day, body, admin.username)
    if override is None:  # nothing set: the day follows the rules, no override remains
        return DayOverrideOut.following_the_rules(day, admin.username)
    return DayOverrideOut.of(override)


@router.get("/days/{date}", response_model=DayOverrideOut)
def get_day(day: DateInPath, session: DbSession, _: AdminUser) -> DayOverrideOut:
    override = service.get_override(session, day)
    if override is None:
        raise NotFound()
    return DayOverrideOut.of(override)


@router.delete("/days/{date}", status_code=204, summary="Remove the override: the rules apply")
def delete_day(day: DateInPath, session: DbSession, admin: AdminUser) -> None:
    if not service.delete_override(session, day, admin.username):
        raise NotFound()
