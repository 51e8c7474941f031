"""The rules page's form, generated from the rules schema.

Every key of every section becomes an input of the kind its type calls for, so a key added
to the rules later appears in the console without touching it; known keys get a Chinese
label and hint (translated by the catalog), a new one shows its key until it is given one.
The form posts the whole document; the service validates it whole, like a PATCH.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from reservations.admin.labels import N_, WEEKDAY_NAMES
from reservations.rules import channels
from reservations.rules.schema import TIME_OF_DAY, Rules, Slot

SECTION_TITLES = {
    "hours": N_("开放时间"),
    # Each channel's section under its label (rules.channels).
    **{channel.name: channel.label for channel in channels.CHANNELS},
    "occupancy": N_("在馆人数"),
    "gate": N_("入馆核验"),
    "no_show": N_("爽约处理"),
    "privacy": N_("个人信息"),
    "protection": N_("防刷保护"),
    "waiting_list": N_("候补名单"),
    "museum": N_("场馆信息"),
}

LABELS = {
    "hours.opens": N_("开馆时间"),
    "hours.closes": N_("闭馆时间"),
    "hours.last_entry": N_("最晚入馆时间"),
    "hours.closed_weekdays": N_("每周闭馆日"),
    "opens_on": N_("渠道开通日期"),
    "daily_quota": N_("每日名额（人）"),
    "min_days_ahead": N_("最少提前天数"),
    "max_days_ahead": N_("最多提前天数"),
    "release_time": N_("每日放票时间"),
    "cancel_minutes_before_start": N_("取消截止（时段开始前分钟数）"),
    "individual.max_visitors_per_booking": N_("每笔预约最多人数"),
    "team.min_size": N_("团队最少人数"),
    "team.max_size": N_("团队最多人数"),
    "team.requires_approval": N_("团队预约需人工审核"),
    "team.members_required": N_("须登记领队以外的全部成员"),
    "team.received_weekdays": N_("接待团队的日子"),
    "occupancy.instantaneous_limit": N_("瞬时最大在馆人数"),
    "occupancy.building_limit": N_("建筑核定最大容量"),
    "occupancy.typical_visit_minutes": N_("典型参观时长（分钟）"),
    "gate.entry_opens_minutes_before": N_("时段开始前可提前入馆（分钟）"),
    "gate.entry_closes_minutes_after_end": N_("时段结束后仍可入馆（分钟）"),
    "gate.offline_allowance": N_("每台扫码设备的离线名额（人）"),
    "gate.offline_lease_minutes": N_("离线名额有效时间（分钟）"),
    "gate.minors_need_adult": N_("未满14周岁须由同一预约的成年人陪同入馆"),
    "no_show.strikes": N_("爽约次数达到"),
    "no_show.window_days": N_("统计周期（天）"),
    "no_show.ban_days": N_("暂停预约（天）"),
    "privacy.retention_days": N_("参观后个人信息保留（天）"),
    "museum.address": N_("地址"),
    "museum.address_en": N_("地址（英文）"),
    "museum.directions": N_("交通指引"),
    "museum.directions_en": N_("交通指引（英文）"),
    "museum.map_url": N_("地图链接"),
    "museum.phone": N_("咨询电话"),
    "protection.rate_limit_per_ip": N_("每个网络地址的请求上限"),
    "protection.rate_limit_per_identity": N_("每个证件的请求上限"),
    "protection.proof_of_work": N_("人机验证（工作量证明）"),
    "protection.pressure_threshold": N_("判定为访问高峰的预约请求频率"),
    "waiting_list.enabled": N_("约满的日期开放候补"),
    "waiting_list.offer_minutes": N_("候补名额保留时间（分钟）"),
    "slots.id": N_("编号"),
    "slots.start": N_("开始"),
    "slots.end": N_("结束"),
    "slots.individual_capacity": N_("个人名额"),
    "slots.team_capacity": N_("团队名额"),
}

HINTS = {
    "hours.closed_weekdays": N_("节假日等例外请在日历中按日期设置。"),
    "daily_quota": N_("当天所有时段合计的上限；各时段名额之和可以不同，以此为准。"),
    "release_time": N_("到这个时间，最远可预约的那一天开放预约。"),
    "occupancy.instantaneous_limit": N_("闸机按此上限放行；不能超过建筑核定最大容量。"),
    "occupancy.typical_visit_minutes": N_("用于估算一天中的在馆人数峰值。"),
    "gate.offline_allowance": N_(
        "每台扫码设备联网时预留的名额，断网时最多放行这么多人；不超过剩余名额，在线核验不占用。"
    ),
    "gate.offline_lease_minutes": N_("设备每次联网取数据时续期；过期或上传后，未用的名额退回。"),
    "no_show.strikes": N_("在统计周期内爽约达到此次数即暂停预约。"),
    "walk_in.daily_quota": N_(
        "开馆至最晚入馆时间内，服务台为未预约的观众（特别是不用智能手机的老年人）登记；0 表示关闭。"
    ),
    "protection.rate_limit_per_ip": N_(
        "如 120/minute；off 表示不限。许多观众可能共用一个运营商地址。"
    ),
    "protection.rate_limit_per_identity": N_("如 10/minute；off 表示不限。"),
    "protection.pressure_threshold": N_("全馆预约请求超过此频率即视为高峰，如 300/minute。"),
    "waiting_list.enabled": N_(
        "关闭后不再接受新的候补，也不再发出新的名额通知；已发出的通知在期限内仍可确认。"
    ),
    "waiting_list.offer_minutes": N_(
        "退回的名额依次留给候补者，在此时间内确认；不会晚于当天预约截止时间。"
    ),
}

OPTION_LABELS = {
    **WEEKDAY_NAMES,
    "off": N_("关闭"),
    "under_pressure": N_("访问高峰时启用"),
    "always": N_("始终启用"),
}

# Blank rows under the slots, for adding slots.
NEW_SLOT_ROWS = 2


@dataclass(frozen=True, slots=True)
class Input:
    """One input: ``name`` is the document path, e.g. ``individual.daily_quota``."""

    name: str
    key: str
    kind: str  # int, bool, date, time, choice, choices, text, readonly
    label: str
    hint: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    # Text that may be left empty (its default is empty), such as an optional phone number.
    optional: bool = False

    @property
    def dom_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    inputs: tuple[Input, ...]


def _unwrap(annotation: Any) -> Any:
    """``X | None`` is edited as ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return annotation


def _bound(info: FieldInfo, name: str) -> int | None:
    for item in info.metadata:
        value = getattr(item, name, None)
        if isinstance(value, int):
            return value
    return None


def describe(section: str, key: str, info: FieldInfo) -> Input:
    name = f"{section}.{key}"
    label = LABELS.get(name) or LABELS.get(key) or key
    hint = HINTS.get(name) or HINTS.get(key)
    annotation = _unwrap(info.annotation)
    origin = get_origin(annotation)
    if annotation is bool:
        kind = "bool"
    elif annotation is int:
        return Input(
            name, key, "int", label, hint, minimum=_bound(info, "ge"), maximum=_bound(info, "le")
        )
    elif annotation is date:
        kind = "date"
    elif annotation is str:
        if TIME_OF_DAY in info.metadata:
            kind = "time"
        else:
            return Input(name, key, "text", label, hint, optional=info.default == "")
    elif origin is Literal:
        return Input(name, key, "choice", label, hint, options=_options(get_args(annotation)))
    elif origin is list and get_origin(get_args(annotation)[0]) is Literal:
        options = _options(get_args(get_args(annotation)[0]))
        return Input(name, key, "choices", label, hint, options=options)
    else:
        kind = "readonly"  # a shape the form cannot edit; the API can
    return Input(name, key, kind, label, hint)


def _options(values: tuple[Any, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((str(value), OPTION_LABELS.get(str(value), str(value))) for value in values)


@cache
def sections() -> tuple[Section, ...]:
    found = []
    for key, info in Rules.model_fields.items():
        model = _unwrap(info.annotation)
        if key == "slots" or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        inputs = tuple(describe(key, name, child) for name, child in model.model_fields.items())
        found.append(Section(key, SECTION_TITLES.get(key, key), inputs))
    return tuple(found)


@cache
def slot_inputs() -> tuple[Input, ...]:
    return tuple(describe("slots", key, info) for key, info in Slot.model_fields.items())


# --- values shown in the form ----------------------------------------------------------


@dataclass
class FormValues:
    """What the inputs show: from the rules in force, or as an admin submitted them."""

    fields: dict[str, Any] = field(default_factory=dict)
    slots: list[dict[str, Any]] = field(default_factory=list)
    removed: set[int] = field(default_factory=set)

    def of(self, name: str) -> Any:
        return self.fields.get(name)

    def rows(self) -> list[tuple[int, dict[str, Any]]]:
        return list(enumerate(self.slots))


def _display(value: Any) -> Any:
    if isinstance(value, bool | list):
        return value
    return "" if value is None else str(value)


def from_document(document: Mapping[str, Any]) -> FormValues:
    values = FormValues()
    for section in sections():
        part = document.get(section.key) or {}
        for item in section.inputs:
            values.fields[item.name] = _display(part.get(item.key))
    values.slots = [
        {item.key: _display(slot.get(item.key)) for item in slot_inputs()}
        for slot in document.get("slots", [])
    ]
    values.slots.extend({} for _ in range(NEW_SLOT_ROWS))
    return values


def from_form(form: Any) -> FormValues:
    values = FormValues()
    for section in sections():
        for item in section.inputs:
            if item.kind == "choices":
                values.fields[item.name] = [str(v) for v in form.getlist(item.name)]
            elif item.kind == "bool":
                values.fields[item.name] = form.get(item.name) is not None
            else:
                values.fields[item.name] = str(form.get(item.name) or "").strip()
    count = _slot_row_count(form)
    for row in range(count):
        values.slots.append(
            {
                item.key: str(form.get(f"slots.{row}.{item.key}") or "").strip()
                for item in slot_inputs()
            }
        )
        if form.get(f"slots.{row}.remove") is not None:
            values.removed.add(row)
    return values


def _slot_row_count(form: Any) -> int:
    try:
        return max(0, min(int(str(form.get("slots.count") or "0")), 100))
    except ValueError:
        return 0


# --- from the form to a patch ----------------------------------------------------------


@dataclass
class Parsed:
    patch: dict[str, Any]
    problems: list[dict[str, Any]]
    # Position in the patch's slot list -> the form row it came from, to place errors.
    slot_rows: list[int]

    def form_field(self, document_field: str) -> str:
        """``slots.1.start`` in the patch is ``slots.<row>.start`` on the form."""
        parts = document_field.split(".")
        if len(parts) >= 2 and parts[0] == "slots" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(self.slot_rows):
                parts[1] = str(self.slot_rows[index])
        return ".".join(parts)


def integer(text: str, name: str, problems: list[dict[str, Any]]) -> int | None:
    if text == "":
        problems.append({"field": name, "type": "missing", "context": {}})
        return None
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit():
        problems.append({"field": name, "type": "int_parsing", "context": {}})
        return None
    return int(text)


def _value(item: Input, raw: Any, name: str, problems: list[dict[str, Any]]) -> Any:
    if item.kind == "int":
        return integer(str(raw), name, problems)
    if item.kind in ("date", "time", "choice", "text") and raw == "" and not item.optional:
        problems.append({"field": name, "type": "missing", "context": {}})
        return None
    return raw


def parse(values: FormValues) -> Parsed:
    problems: list[dict[str, Any]] = []
    patch: dict[str, Any] = {}
    for section in sections():
        part: dict[str, Any] = {}
        for item in section.inputs:
            if item.kind == "readonly":
                continue  # left out of the patch: the rules in force keep it
            part[item.key] = _value(item, values.of(item.name), item.name, problems)
        patch[section.key] = part
    slots, rows = [], []
    for row, raw in values.rows():
        if row in values.removed or not any(str(raw.get(i.key) or "") for i in slot_inputs()):
            continue  # removed, or a blank row left for adding
        slot = {}
        for item in slot_inputs():
            if item.kind == "readonly":
                continue
            slot[item.key] = _value(
                item, raw.get(item.key, ""), f"slots.{row}.{item.key}", problems
            )
        slots.append(slot)
        rows.append(row)
    patch["slots"] = slots
    return Parsed(patch, problems, rows)
