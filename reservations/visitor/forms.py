"""The booking and lookup forms: from posted fields to the service's requests, and from the
service's errors to messages next to the fields the visitor can fix.

Every rule stays in ``reservations.booking``: the form only checks the phone and each
document through the same functions the service uses, earlier, so that all of a form's
mistakes show at once instead of one per attempt.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Form
from pydantic import BaseModel, Field, ValidationError

from reservations.booking import identities
from reservations.booking.errors import InvalidIdNumber, InvalidPhone
from reservations.booking.schemas import BookingRequest, LookupRequest
from reservations.errors import DomainError, ValidationFailed
from reservations.privacy.documents import Document, InvalidDocument, kind_of
from reservations.rules.errors import BookingWindow
from reservations.rules.schema import Rules
from reservations.visitor.calendar import explain
from reservations.visitor.text import ID_TYPES, DateText, ErrorText, Msg

RESIDENT_ID = "resident_id"

# The field a message belongs to: "slot", "visitors", "name-0", "id_type-0", "id_number-0",
# "phone", "email", "consent", "sensitive_consent", "guardian_consent"; "form" for the rest.
Problems = dict[str, Msg | ErrorText]


@dataclass
class VisitorRow:
    name: str = ""
    id_type: str = RESIDENT_ID
    id_number: str = ""

    def is_blank(self) -> bool:
        return not self.name.strip() and not self.id_number.strip()


@dataclass
class BookingForm:
    slot_id: str = ""
    rows: list[VisitorRow] = field(default_factory=lambda: [VisitorRow()])
    phone: str = ""
    email: str = ""
    consent: bool = False
    sensitive_consent: bool = False
    guardian_consent: bool = False
    form_key: str = ""

    @classmethod
    def from_fields(
        cls,
        *,
        slot_id: str,
        names: Sequence[str],
        id_types: Sequence[str],
        id_numbers: Sequence[str],
        phone: str,
        email: str,
        consent: bool,
        sensitive_consent: bool,
        guardian_consent: bool,
        form_key: str,
        max_rows: int,
    ) -> BookingForm:
        count = min(max(len(names), len(id_numbers), 1), max_rows)
        rows = [
            VisitorRow(
                name=_at(names, index),
                id_type=_at(id_types, index) or RESIDENT_ID,
                id_number=_at(id_numbers, index),
            )
            for index in range(count)
        ]
        return cls(
            slot_id=slot_id,
            rows=rows,
            phone=phone,
            email=email,
            consent=consent,
            sensitive_consent=sensitive_consent,
            guardian_consent=guardian_consent,
            form_key=form_key,
        )

    def filled_rows(self) -> list[int]:
        """Indexes of the rows the visitor wrote in (blank companion rows are ignored)."""
        return [index for index, row in enumerate(self.rows) if not row.is_blank()]


def _at(values: Sequence[str], index: int) -> str:
    return values[index] if index < len(values) else ""


# How many visitor rows a posted form may carry at most, whatever the rules say.
MAX_ROWS = 20
_FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def new_form_key() -> str:
    """A key per form shown: the same form sent twice books (or joins) once."""
    return secrets.token_urlsafe(24)


_Text = Annotated[str, Field(max_length=200)]


class PostedBookingFields(BaseModel):
    """The booking form's fields as a browser posts them (the booking and the waiting list
    pages): one visitor per position of the three repeated fields."""

    slot_id: _Text = ""
    visitor_name: list[str] | None = None
    visitor_id_type: list[str] | None = None
    visitor_id_number: list[str] | None = None
    phone: _Text = ""
    email: _Text = ""
    consent: _Text = ""
    sensitive_consent: _Text = ""
    guardian_consent: _Text = ""
    form_key: _Text = ""


def posted_booking_form(fields: Annotated[PostedBookingFields, Form()]) -> BookingForm:
    """The posted booking form, trimmed to what the form can carry."""
    return BookingForm.from_fields(
        slot_id=fields.slot_id,
        names=[value[:200] for value in fields.visitor_name or []],
        id_types=[value[:32] for value in fields.visitor_id_type or []],
        id_numbers=[value[:200] for value in fields.visitor_id_number or []],
        phone=fields.phone,
        email=fields.email,
        consent=bool(fields.consent),
        sensitive_consent=bool(fields.sensitive_consent),
        guardian_consent=bool(fields.guardian_consent),
        form_key=fields.form_key if _FORM_KEY.match(fields.form_key) else new_form_key(),
        max_rows=MAX_ROWS,
    )


PostedBookingForm = Annotated[BookingForm, Depends(posted_booking_form)]


def change_rows(form: BookingForm, change: str, limit: int) -> None:
    """Without JavaScript: add a companion row, or remove one (``remove-<index>``)."""
    if change == "add" and len(form.rows) < limit:
        form.rows.append(VisitorRow())
    elif change.startswith("remove-") and change[7:].isdigit() and len(form.rows) > 1:
        index = int(change[7:])
        if index < len(form.rows):
            del form.rows[index]


def build_request(
    form: BookingForm,
    day: date,
    language: str,
    today: date,
    max_visitors: int | None = None,
    model: type[BookingRequest] = BookingRequest,
) -> BookingRequest:
    """The service's request, or ``ValidationFailed`` whose ``details.problems`` hold every
    mistake found in the form (field → message): shape, documents, consents, a child without
    an adult, the same person twice, too many people. The service checks all of it again.
    ``model`` may leave the slot optional (the waiting list's "any slot") or the phone (the
    desk's visitors may have none)."""
    # The first visitor is never optional: left blank, its own fields say what is missing.
    filled = form.filled_rows() or [0]
    problems: Problems = {}
    request: BookingRequest | None = None
    slot_optional = not model.model_fields["slot_id"].is_required()
    phone_optional = not model.model_fields["phone"].is_required()
    phone = form.phone.strip() or (None if phone_optional else form.phone)
    try:
        request = model.model_validate(
            {
                "date": day,
                "slot_id": form.slot_id or (None if slot_optional else ""),
                "phone": phone,
                "email": form.email.strip() or None,
                "consent": form.consent,
                "sensitive_consent": form.sensitive_consent,
                "guardian_consent": form.guardian_consent,
                "language": language,
                "visitors": [
                    {
                        "name": form.rows[index].name,
                        "id_type": form.rows[index].id_type,
                        "id_number": form.rows[index].id_number,
                    }
                    for index in filled
                ],
            }
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            path = [str(part) for part in error["loc"]]
            _add(problems, *_validation_problem(path, str(error["type"]), filled))
    if "phone" not in problems and phone is not None:
        try:
            identities.phone(form.phone)
        except InvalidPhone:
            problems["phone"] = PHONE_INVALID
    documents: list[Document] = []
    for index in filled:
        row = form.rows[index]
        key = f"id_number-{index}"
        if key in problems or f"id_type-{index}" in problems or not row.id_number.strip():
            continue
        try:
            documents.append(identities.document(row.id_type, row.id_number, today))
        except InvalidIdNumber as error:
            problems[key] = id_number_invalid(row.id_type, error.details.get("problem"))
    _check_people(problems, form, documents, day, max_visitors)
    if not form.consent:
        problems["consent"] = CONSENT_REQUIRED
    if not form.sensitive_consent:
        problems["sensitive_consent"] = SENSITIVE_CONSENT_REQUIRED
    if problems or request is None:
        raise ValidationFailed({"problems": problems})
    return request


def _check_people(
    problems: Problems,
    form: BookingForm,
    documents: list[Document],
    day: date,
    max_visitors: int | None,
) -> None:
    """What the service would refuse about the party as a whole, found in the same pass."""
    if max_visitors is not None and len(form.filled_rows()) > max_visitors:
        _add(problems, "visitors", too_many_visitors(max_visitors))
    keys = [document.identity_key for document in documents]
    if len(set(keys)) != len(keys):
        _add(problems, "visitors", SAME_PERSON_TWICE)
    ages = [document.age_on(day) for document in documents]
    if any(age is not None and age < identities.MINOR_AGE for age in ages):
        if not any(age is None or age >= identities.ADULT_AGE for age in ages):
            _add(problems, "visitors", MINOR_WITHOUT_ADULT)
        if not form.guardian_consent:
            problems["guardian_consent"] = GUARDIAN_REQUIRED


def _add(problems: Problems, key: str, message: Msg) -> None:
    problems.setdefault(key, message)


PHONE_INVALID = Msg("请填写11位中国大陆手机号码，例如 138 0013 8000。")
CONSENT_REQUIRED = Msg("请阅读并同意《个人信息处理规则》，否则无法预约。")
SENSITIVE_CONSENT_REQUIRED = Msg("实名预约须处理证件号码（敏感个人信息），请勾选单独同意。")
MINOR_WITHOUT_ADULT = Msg(
    "未满14周岁的儿童须与一位成年人（18周岁及以上）在同一预约中参观，请把同行的成年人加入本次预约。"
)
SAME_PERSON_TWICE = Msg("同一证件在本次预约中填写了两次，请删除重复的参观者。")


def too_many_visitors(limit: int) -> Msg:
    return Msg("每笔预约最多%(max)s人；人数更多时请分开预约，或使用团队预约。", max=limit)


def id_number_invalid(id_type: str, problem: object = None) -> Msg:
    """What is wrong with a document number, as precisely as the number tells, in its
    kind's words (an unknown kind is read as the form's default, the resident ID)."""
    try:
        kind = kind_of(id_type)
    except InvalidDocument:
        kind = kind_of(RESIDENT_ID)
    return Msg(kind.invalid.get(str(problem), kind.invalid["format"]))


def _validation_problem(path: list[str], kind: str, filled: list[int]) -> tuple[str, Msg]:
    too_short = kind in ("missing", "string_too_short")
    if path and path[0] == "visitors":
        if len(path) >= 3 and path[1].isdigit() and int(path[1]) < len(filled):
            row = filled[int(path[1])]
            part = path[2]
            if part == "name":
                message = Msg("请填写姓名。") if too_short else Msg("姓名最多60个字。")
                return f"name-{row}", message
            if part == "id_type":
                return f"id_type-{row}", Msg("请选择证件类型。")
            if part == "id_number":
                if too_short:
                    return f"id_number-{row}", Msg("请填写证件号码。")
                return f"id_number-{row}", Msg("证件号码过长，请核对。")
        if kind == "too_short":
            return "visitors", Msg("请至少填写一位参观者。")
        return "visitors", Msg("请核对参观者信息。")
    head = path[0] if path else ""
    if head == "phone":
        return "phone", Msg("请填写手机号码。") if too_short else PHONE_INVALID
    if head == "email":
        return "email", Msg("电子邮箱格式不正确，请核对；不需要提醒可以留空。")
    if head == "slot_id":
        return "slot", Msg("请选择参观时段。")
    return "form", Msg("提交的内容有误，请检查后重试。")


def problems_for(error: DomainError, form: BookingForm, rules: Rules, day: date) -> Problems:
    """Where on the booking form the service's refusal belongs, in plain words."""
    details = error.details
    code = error.code
    if isinstance(error, ValidationFailed) and isinstance(details.get("problems"), dict):
        return dict(details["problems"])
    if code == "validation_error":
        problems: Problems = {}
        filled = form.filled_rows()
        for item in details.get("fields", []):
            path = str(item.get("field", "")).split(".")
            _add(problems, *_validation_problem(path, "invalid", filled))
        return problems or {"form": Msg("提交的内容有误，请检查后重试。")}
    if code == "invalid_phone":
        return {"phone": PHONE_INVALID}
    if code == "invalid_id_number":
        return {"visitors": Msg("有证件号码无效，请核对证件类型和号码。")}
    if code == "consent_required":
        if details.get("consent") == "guardian":
            return {"guardian_consent": GUARDIAN_REQUIRED}
        problems = {}
        if not form.consent:
            problems["consent"] = CONSENT_REQUIRED
        if not form.sensitive_consent:
            problems["sensitive_consent"] = SENSITIVE_CONSENT_REQUIRED
        return problems or {"consent": Msg("请阅读并同意个人信息处理规则。")}
    if code == "too_many_visitors":
        limit = details.get("max", rules.individual.max_visitors_per_booking)
        return {"visitors": too_many_visitors(int(limit))}
    if code == "minor_without_guardian":
        return {"visitors": MINOR_WITHOUT_ADULT}
    if code == "duplicate_visitor":
        if details.get("within_request"):
            return {"visitors": SAME_PERSON_TWICE}
        if details.get("waiting_list"):
            return {
                "visitors": Msg(
                    "有参观者当天已在候补名单中，每人每天只能预约或候补一次。"
                    "可在“我的预约”中查看或退出候补。"
                )
            }
        return {
            "visitors": Msg(
                "有参观者当天已有预约，每人每天只能预约一次。可在“我的预约”中查看或取消原预约。"
            )
        }
    if code == "visitor_banned":
        until = details.get("until")
        if isinstance(until, str):
            return {
                "visitors": Msg(
                    "有参观者因多次预约后未到馆，%(until)s前暂停预约。",
                    until=DateText(date.fromisoformat(until), "long"),
                )
            }
        return {"visitors": Msg("有参观者因多次预约后未到馆，暂停预约。")}
    if code == "sold_out":
        return {"slot": Msg("这个时段刚刚约满，请选择其他时段或其他日期。")}
    if code == "places_available":
        return {"slot": Msg("这一天（或这个时段）还有名额，请直接预约。")}
    if code == "waiting_list_closed":
        return {"form": Msg("候补名单暂未开放。")}
    if isinstance(error, BookingWindow):
        reason = explain(error.reason, day, rules) or Msg("这一天暂不可预约。")
        return {"slot": Msg("%(reason)s请选择其他日期。", reason=reason)}
    return {"form": ErrorText(error)}


GUARDIAN_REQUIRED = Msg("预约中有未满14周岁的儿童，须由其父母或其他监护人勾选同意。")


# --- my bookings ---------------------------------------------------------------------------


@dataclass
class LookupForm:
    phone: str = ""
    id_type: str = RESIDENT_ID
    id_number: str = ""


def build_lookup(form: LookupForm) -> LookupRequest:
    try:
        return LookupRequest.model_validate(
            {"phone": form.phone, "id_type": form.id_type, "id_number": form.id_number}
        )
    except ValidationError as exc:
        problems: Problems = {}
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            head = str(error["loc"][0]) if error["loc"] else ""
            if head == "phone":
                _add(problems, "phone", Msg("请填写预约时留的手机号码。"))
            elif head == "id_type":
                _add(problems, "id_type", Msg("请选择证件类型。"))
            elif head == "id_number":
                _add(problems, "id_number", Msg("请填写预约时登记的证件号码。"))
        raise ValidationFailed({"problems": problems}) from None


def lookup_problems(error: DomainError, form: LookupForm) -> Problems:
    if isinstance(error, ValidationFailed) and isinstance(error.details.get("problems"), dict):
        return dict(error.details["problems"])
    if error.code == "invalid_phone":
        return {"phone": PHONE_INVALID}
    if error.code == "invalid_id_number":
        return {"id_number": id_number_invalid(form.id_type, error.details.get("problem"))}
    return {"form": ErrorText(error)}


def field_order(form: BookingForm) -> list[str]:
    """The booking form's fields as it shows them."""
    order = ["form", "slot", "visitors"]
    for index in range(len(form.rows)):
        order += [f"name-{index}", f"id_type-{index}", f"id_number-{index}"]
    return [*order, "phone", "email", "consent", "sensitive_consent", "guardian_consent"]


def page_values(form: BookingForm, problems: Problems, rules: Rules) -> dict[str, Any]:
    """What a page showing the booking form (to book, or to join a waiting list) needs."""
    return {
        "form": form,
        "problems": problems,
        "problem_keys": first_problem_keys(problems, field_order(form)),
        "rules": rules,
        "max_rows": rules.individual.max_visitors_per_booking,
        "id_types": ID_TYPES,
    }


def first_problem_keys(problems: Problems, order: Iterable[str]) -> list[str]:
    """The problems' fields in the order the form shows them (for the error summary)."""
    ordered = [key for key in order if key in problems]
    return ordered + [key for key in problems if key not in ordered]
