"""What every page of the admin console shares: the context every page gets, translating
outside templates, notices after a change, and a refusal's field messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import RedirectResponse

from reservations.accounts.service import Principal
from reservations.admin import charts, labels, rules_form
from reservations.admin.labels import N_
from reservations.http import language_of
from reservations.rules import channels
from reservations.rules.projection import Projection
from reservations.rules.schema import WEEKDAYS
from reservations.web import i18n

CsrfField = Annotated[str, Form(max_length=100)]

NOTICES = {
    "rules_saved": N_("规则已保存，立即生效。"),
    "rules_unchanged": N_("规则没有变化，未保存。"),
    "override_saved": N_("该日设置已保存，立即生效。"),
    "override_removed": N_("已取消该日的例外设置，按常规规则执行。"),
    "user_created": N_("账户已创建。"),
    "user_disabled": N_("账户已停用，其登录会话已全部失效。"),
    "user_enabled": N_("账户已启用。"),
    "password_reset": N_("密码已重置，该账户的登录会话已全部失效。"),
}

# What a refusal means, by its stable type (see reservations.rules.schema), for the form.
PROBLEMS = {
    "missing": N_("请填写此项。"),
    "int_parsing": N_("请输入整数。"),
    "int_type": N_("请输入整数。"),
    "greater_than_equal": N_("不能小于 %(ge)s。"),
    "less_than_equal": N_("不能大于 %(le)s。"),
    "literal_error": N_("请从列表中选择。"),
    "bool_type": N_("请选择是或否。"),
    "string_too_long": N_("内容太长。"),
    "string_pattern_mismatch": N_("格式不正确（字母、数字、下划线或连字符）。"),
    "too_short": N_("至少需要一项。"),
    "too_long": N_("项目太多。"),
    "extra_forbidden": N_("未知的设置项。"),
    "time_format": N_("请按“时:分”填写，如 09:00。"),
    "rate_format": N_("请填写如 60/minute 的频率，或 off。"),
    "date_format": N_("请按“年-月-日”填写日期。"),
    "duplicate_items": N_("每项只能选一次。"),
    "closes_before_opens": N_("闭馆时间须晚于开馆时间。"),
    "last_entry_outside_hours": N_("最晚入馆时间须在开馆与闭馆之间。"),
    "window_order": N_("最多提前天数不能少于最少提前天数。"),
    "team_size_order": N_("团队最多人数不能少于最少人数。"),
    "above_building_limit": N_("不能超过建筑核定最大容量（%(building_limit)s 人）。"),
    "slot_ends_before_start": N_("时段 %(slot)s 的结束时间须晚于开始时间。"),
    "duplicate_slot_id": N_("时段编号 %(slot)s 重复。"),
    "slot_outside_hours": N_("时段 %(slot)s 超出开放时间（%(opens)s–%(closes)s）。"),
    "slot_after_last_entry": N_("时段 %(slot)s 晚于最晚入馆时间（%(last_entry)s）开始。"),
    "slots_overlap": N_("时段 %(slot)s 与时段 %(other)s 重叠。"),
    "past_day": N_("不能修改已经过去的日期。"),
}
UNKNOWN_PROBLEM = N_("此项无效。")

CHANGE_FIELDS = {
    "closed": N_("闭馆"),
    # A day override's quota of each channel (rules.channels).
    **{channel.quota_field: channel.quota_label for channel in channels.CHANNELS},
    "note": N_("备注"),
    "role": N_("角色"),
    "disabled": N_("已停用"),
    "password": N_("密码"),
    "sessions": N_("登录会话"),
    "bookings": N_("预约笔数"),
    "offline_margin": N_("离线预留名额"),
    "allowance": N_("离线名额"),
    "used": N_("已用"),
    "problem": N_("问题"),
    "scan": N_("扫码编号"),
    "device": N_("设备"),
    "gate": N_("入口"),
    "at": N_("扫码时间"),
    "reason": N_("原因"),
    "first_gate": N_("先前入馆入口"),
    "first_at": N_("先前入馆时间"),
    "people": N_("人数"),
    "inside": N_("馆内人数"),
    "limit": N_("瞬时上限"),
}


Translate = Callable[..., str]


def translator(request: Request) -> Translate:
    """Translate outside a template, in the request's language."""
    language = language_of(request)

    def translate(text: str, **values: object) -> str:
        with i18n.speaking(language):
            try:
                return i18n.gettext(text, **values)
            except (KeyError, ValueError, TypeError):
                return i18n.gettext(text)  # a context value the message did not expect

    return translate


def redirect(path: str, **query: str) -> RedirectResponse:
    target = f"{path}?{urlencode(query)}" if query else path
    return RedirectResponse(target, status_code=303)


def notice_of(key: str | None) -> str | None:
    return NOTICES.get(key or "")


def problem_messages(
    translate: Translate, details: dict[str, Any], field_name: Callable[[str], str] = str
) -> dict[str, list[str]]:
    """Field name on the form -> what is wrong there, in the reader's language."""
    found: dict[str, list[str]] = {}
    for item in details.get("fields", []):
        template = PROBLEMS.get(str(item.get("type", "")), UNKNOWN_PROBLEM)
        message = translate(template, **dict(item.get("context") or {}))
        found.setdefault(field_name(str(item.get("field", ""))), []).append(message)
    return found


def change_label(path: str) -> list[str]:
    """The parts naming a changed value, each translatable: 个人预约 · 每日名额（人）."""
    parts = path.split(".")
    if parts[0] == "slots" and len(parts) >= 2:
        slot_part = [N_("时段"), parts[1]]
        if len(parts) == 2:
            return slot_part
        key = parts[2]
        return [*slot_part, rules_form.LABELS.get(f"slots.{key}", key)]
    if len(parts) >= 2:
        section = rules_form.SECTION_TITLES.get(parts[0], parts[0])
        name = ".".join(parts[:2])
        label = rules_form.LABELS.get(name) or rules_form.LABELS.get(parts[1]) or parts[1]
        return [section, label]
    return [CHANGE_FIELDS.get(path, path)] if path else []


def projection_words(translate: Translate) -> charts.ProjectionLabels:
    return charts.ProjectionLabels(
        title=translate("预计在馆人数（按时段名额和典型参观时长估算）"),
        people=translate("在馆"),
        limit=translate("瞬时上限"),
        over=translate("超出上限"),
    )


def projection_view(translate: Translate, projection: Projection, chart_id: str) -> dict[str, Any]:
    return {
        "data": projection,
        "peak_start": projection.as_dict()["peak_start"],
        "peak_end": projection.as_dict()["peak_end"],
        "chart": charts.projection_chart(projection, projection_words(translate), chart_id),
    }


def weekday(day: date) -> str:
    return labels.WEEKDAY_NAMES[WEEKDAYS[day.weekday()]]


def base_context(principal: Principal, **values: Any) -> dict[str, Any]:
    return {
        "principal": principal,
        "labels": labels,
        "option_labels": rules_form.OPTION_LABELS,
        "change_label": change_label,
        "weekday": weekday,
        **values,
    }
