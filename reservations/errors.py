"""Domain errors: one stable ``code`` each, mapped to HTTP in one place (``reservations.http``).

Services raise these and never import FastAPI. Messages exist in Chinese and English; a
message never carries personal data, only the code's meaning and harmless details.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    message_zh: ClassVar[str] = "请求无法处理。"
    message_en: ClassVar[str] = "The request cannot be processed."
    # Most errors undo the request's changes. A few are themselves a change to keep,
    # such as counting a wrong password towards the lockout.
    keeps_changes: ClassVar[bool] = False

    def __init__(self, details: dict[str, Any] | None = None, *, hint: str | None = None) -> None:
        self.details: dict[str, Any] = details or {}
        # A short, non-personal sentence that sharpens the generic message.
        self.hint = hint
        super().__init__(self.code)

    def message(self, language: str) -> str:
        base = self.message_en if language == "en" else self.message_zh
        return f"{base} {self.hint}" if self.hint else base


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 422
    message_zh = "提交的内容有误，请检查后重试。"
    message_en = "Some fields are missing or invalid."


class NotFound(DomainError):
    code = "not_found"
    status = 404
    message_zh = "未找到。"
    message_en = "Not found."


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401
    message_zh = "请先登录。"
    message_en = "Authentication required."


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    message_zh = "没有权限执行此操作。"
    message_en = "You are not allowed to do this."


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    message_zh = "请求过于频繁，请稍后再试。"
    message_en = "Too many requests; please try again later."

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__({"retry_after": retry_after_seconds})
        self.retry_after_seconds = retry_after_seconds


class ChallengeRequired(DomainError):
    code = "challenge_required"
    status = 428
    message_zh = "请先完成人机验证。"
    message_en = "Solve the challenge first."


class ServiceBusy(DomainError):
    code = "service_busy"
    status = 503
    message_zh = "系统繁忙，请稍后重试。"
    message_en = "The service is busy; please try again in a moment."

    def __init__(self, retry_after_seconds: int = 2) -> None:
        super().__init__({"retry_after": retry_after_seconds})


class Conflict(DomainError):
    code = "conflict"
    status = 409
    message_zh = "请求与当前状态冲突。"
    message_en = "The request conflicts with the current state."


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
    return ValidationFailed({"fields": [{"field": field, "problem": problem}]})
