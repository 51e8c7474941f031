"""Domain errors: one stable ``code`` each, mapped to HTTP in one place (``reservations.http``).

Services raise these and never import FastAPI. Each error's message is written in the
source language (Chinese) as its ``msgid``, the key of its translations in the ``errors``
catalogs (``templates/locale/<language>/errors.po``), as pages' words are. A message never
carries personal data, only the code's meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from reservations.web import i18n


class DomainError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    msgid: ClassVar[str] = "请求无法处理。"
    # Most errors undo the request's changes. A few are themselves a change to keep,
    # such as counting a wrong password towards the lockout.
    keeps_changes: ClassVar[bool] = False
    # The request field the error is about, where there is one (``visitors``,
    # ``visitors.2.id_number``): a form can put the message beside it.
    field: str | None = None

    def __init__(self, details: dict[str, Any] | None = None, *, field: str | None = None) -> None:
        self.details: dict[str, Any] = details or {}
        if field is not None:
            self.field = field
        super().__init__(self.code)

    def message_id(self) -> str:
        """The ``msgid`` of this error's message: the class's own unless the details call
        for a sharper one."""
        return self.msgid

    def message(self, language: str) -> str:
        """The message in ``language`` (a code of ``reservations.languages``)."""
        return i18n.translate(self.message_id(), language, area=i18n.ERRORS)


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 422
    msgid = "提交的内容有误，请检查后重试。"


class NotFound(DomainError):
    code = "not_found"
    status = 404
    msgid = "未找到。"


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401
    msgid = "请先登录。"


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    msgid = "没有权限执行此操作。"


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    msgid = "请求过于频繁，请稍后再试。"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__({"retry_after": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class ChallengeRequired(DomainError):
    code = "challenge_required"
    status = 428
    msgid = "请先完成人机验证。"


class ServiceBusy(DomainError):
    code = "service_busy"
    status = 503
    msgid = "系统繁忙，请稍后重试。"

    def __init__(self, retry_after_seconds: int = 2) -> None:
        super().__init__({"retry_after": retry_after_seconds})


class Conflict(DomainError):
    code = "conflict"
    status = 409
    msgid = "请求与当前状态冲突。"


def validation_details(
    errors: Iterable[Mapping[str, Any]],
    *,
    skip: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Pydantic's complaints (``ValidationError.errors()``, FastAPI's request validation
    errors alike) as ``details.fields``, without the submitted values: they may be personal
    data.

    Each problem names the field (``individual.daily_quota``, ``slots.2.start``; location
    parts in ``skip``, such as ``body``, left out), says what is wrong in English, and
    carries a stable ``type`` with harmless ``context`` (limits, slot ids) from which pages
    word it in the reader's language.
    """
    problems = []
    for error in errors:
        context = {
            key: value
            for key, value in (error.get("ctx") or {}).items()
            if isinstance(value, str | int | float) and not isinstance(value, bool)
        }
        location = [str(part) for part in error.get("loc", ()) if part not in skip]
        blamed = context.pop("field", None)
        if isinstance(blamed, str):
            location.append(blamed)
        problem = str(error.get("msg", "invalid"))
        if error.get("type") == "json_invalid":
            location, problem = [], "the body is not valid JSON"
        problems.append(
            {
                "field": ".".join(location) or "body",
                "problem": problem,
                "type": str(error.get("type", "invalid")),
                "context": context,
            }
        )
    return {"fields": problems}


def field_error(field: str, problem: str) -> ValidationFailed:
    """A validation error about one named field (never echoing its value)."""
    return ValidationFailed({"fields": [{"field": field, "problem": problem}]}, field=field)
