"""From the team request form (plain fields, a textarea of members) to the API's request,
and from errors back to the form's fields. No FastAPI here: the page calls these."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationError

from reservations.errors import DomainError
from reservations.privacy.documents import kind_named
from reservations.teams.schemas import TeamBookingRequest

_SEPARATORS = re.compile(r"[,，、;；\t]+")
_VISIT = re.compile(r"^(\d{4}-\d{2}-\d{2})\|([0-9A-Za-z_-]{1,16})$")


@dataclass
class TeamForm:
    """The form's fields as typed, to fill the form in again after a problem."""

    visit: str = ""
    organization: str = ""
    size: str = ""
    leader_name: str = ""
    leader_id_type: str = "resident_id"
    leader_id_number: str = ""
    leader_phone: str = ""
    members: str = ""
    consent: bool = False
    sensitive_consent: bool = False
    guardian_consent: bool = False


class PostedTeamForm(BaseModel):
    """The team request form as a browser posts it: each field no longer than the form can
    carry (a longer one is refused before anything is read), a checkbox present or not."""

    visit: Annotated[str, Field(max_length=40)] = ""
    organization: Annotated[str, Field(max_length=200)] = ""
    size: Annotated[str, Field(max_length=10)] = ""
    leader_name: Annotated[str, Field(max_length=60)] = ""
    leader_id_type: Annotated[str, Field(max_length=24)] = "resident_id"
    leader_id_number: Annotated[str, Field(max_length=40)] = ""
    leader_phone: Annotated[str, Field(max_length=32)] = ""
    members: Annotated[str, Field(max_length=100_000)] = ""
    consent: Annotated[str, Field(max_length=10)] = ""
    sensitive_consent: Annotated[str, Field(max_length=10)] = ""
    guardian_consent: Annotated[str, Field(max_length=10)] = ""
    request_key: Annotated[str, Field(max_length=100)] = ""
    csrf_token: Annotated[str, Field(max_length=100)] = ""

    def as_typed(self) -> TeamForm:
        """The fields as typed, to fill the form in again after a problem."""
        return TeamForm(
            visit=self.visit,
            organization=self.organization,
            size=self.size,
            leader_name=self.leader_name,
            leader_id_type=self.leader_id_type,
            leader_id_number=self.leader_id_number,
            leader_phone=self.leader_phone,
            members=self.members,
            consent=bool(self.consent),
            sensitive_consent=bool(self.sensitive_consent),
            guardian_consent=bool(self.guardian_consent),
        )


@dataclass
class FormProblem(Exception):
    """One field of the form cannot be read; ``problem`` is a msgid of the team catalog."""

    field: str
    problem: str
    variables: dict[str, Any] = dataclasses.field(default_factory=dict)


def parse_members(text: str) -> list[dict[str, str]]:
    """One member a line: ``name, document number[, document type]`` (type: resident ID
    unless named). Commas, ideographic commas, semicolons or tabs separate; a line without
    one splits at its last space, so Latin names keep theirs."""
    members = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [part.strip() for part in _SEPARATORS.split(line) if part.strip()]
        if len(parts) == 1:
            parts = line.rsplit(None, 1)
        # The document type a leader may write at the end of the line, in their words.
        kind = kind_named(parts[2]) if len(parts) == 3 else None
        if kind is not None:
            id_type = kind.value
        elif len(parts) == 2:
            id_type = "resident_id"
        else:
            raise FormProblem("members", "第%(line)s行应为“姓名，证件号码”", {"line": number})
        members.append({"name": parts[0], "id_type": id_type, "id_number": parts[1]})
    return members


def to_request(form: TeamForm) -> TeamBookingRequest:
    match = _VISIT.match(form.visit.strip())
    if match is None:
        raise FormProblem("visit", "请选择参观日期和时段")
    try:
        day = date.fromisoformat(match[1])
    except ValueError:
        raise FormProblem("visit", "请选择参观日期和时段") from None
    size_text = form.size.strip()
    if not size_text.isdigit() or len(size_text) > 6:
        raise FormProblem("size", "请填写团队人数（数字）")
    document = {
        "date": day.isoformat(),
        "slot_id": match[2],
        "organization": form.organization,
        "size": int(size_text),
        "leader": {
            "name": form.leader_name,
            "id_type": form.leader_id_type,
            "id_number": form.leader_id_number,
            "phone": form.leader_phone,
        },
        "members": parse_members(form.members),
        "consent": form.consent,
        "sensitive_consent": form.sensitive_consent,
        "guardian_consent": form.guardian_consent,
    }
    try:
        return TeamBookingRequest.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        raise FormProblem(_form_field([str(part) for part in first["loc"]]), "请检查此项") from None


def _form_field(location: list[str]) -> str:
    """The form field that holds an API request's field (``leader.phone`` → leader_phone)."""
    if not location:
        return ""
    head = location[0]
    if head == "leader":
        return "leader_phone" if location[1:2] == ["phone"] else _leader_field(location[1:])
    if head in ("date", "slot_id"):
        return "visit"
    if head in ("members", "organization", "size"):
        return head
    return ""


def _leader_field(rest: list[str]) -> str:
    name = rest[0] if rest else "id_number"
    return f"leader_{name}" if name in ("name", "id_type", "id_number") else "leader_id_number"


def member_position(error: DomainError) -> int | None:
    """Which member (counting from 1) an error is about, when it is about one."""
    located = _located(error)
    if located and located.startswith("members."):
        index = located.split(".")[1]
        return int(index) + 1 if index.isdigit() else None
    return None


def _located(error: DomainError) -> str | None:
    details = error.details
    located = details.get("field")
    if located is None and details.get("fields"):
        located = details["fields"][0].get("field")
    return located if isinstance(located, str) else None


def field_of(error: DomainError) -> str:
    """The form field a service error is about, or "" when it concerns the whole request."""
    details = error.details
    located = _located(error)
    if located is not None:
        return _form_field(located.split("."))
    by_code = {
        "team_size_out_of_range": "size",
        "booking_window": "visit",
        "sold_out": "visit",
        "invalid_phone": "leader_phone",
        "leader_not_adult": "leader_id_number",
        "visitor_banned": "leader_id_number",
    }
    if error.code == "consent_required":
        return "guardian_consent" if details.get("consent") == "guardian" else "consent"
    return by_code.get(error.code, "")
