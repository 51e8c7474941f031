"""Names the console shows for codes stored in the database, in the source language.

Each is marked with ``N_`` so the catalog check finds it; templates translate them at
render time (``{{ _(label) }}``), and the export translates them in the caller's language.
"""

from __future__ import annotations

from reservations.booking.models import BookingStatus
from reservations.privacy.documents import DOCUMENT_KINDS
from reservations.rules import channels


def N_(text: str) -> str:
    """Mark ``text`` for translation without translating it here."""
    return text


STATUSES: dict[str, str] = {
    BookingStatus.PENDING: N_("待审核"),
    BookingStatus.CONFIRMED: N_("已确认"),
    BookingStatus.CANCELLED: N_("已取消"),
    BookingStatus.REJECTED: N_("未通过"),
    BookingStatus.CHECKED_IN: N_("已入馆"),
    BookingStatus.NO_SHOW: N_("未到馆"),
    BookingStatus.EXPIRED: N_("已过期"),
}

# Channels by their short names, from the registry (whose texts are msgids already).
CHANNELS = {channel.name: channel.short for channel in channels.CHANNELS}

VISITOR_ROLES = {"visitor": N_("参观者"), "leader": N_("领队"), "member": N_("团员")}

# Documents by their official names, from the registry (whose texts are msgids already).
ID_TYPES = {kind.value: kind.name for kind in DOCUMENT_KINDS}

ROLES = {"staff": N_("工作人员"), "admin": N_("管理员")}

ACTIONS = {
    "rules.update": N_("修改规则"),
    "day.override": N_("设置日期例外"),
    "day.override.delete": N_("取消日期例外"),
    "user.create": N_("账户创建"),
    "user.disable": N_("停用账户"),
    "user.enable": N_("启用账户"),
    "user.reset_password": N_("密码重置"),
    "bookings.export": N_("导出预约名单"),
    # Kept for the entries of earlier years: margins per gate gave way to leases.
    "gate.offline_margin": N_("设置入口离线预留名额"),
    "gate.lease_ended": N_("结束扫码设备的离线名额"),
    "gate.offline_outside_lease": N_("离线放行不在名额内"),
    "gate.offline_conflict": N_("离线扫码冲突"),
    "gate.offline_over_limit": N_("离线放行超过上限"),
    "ops.counters_repaired": N_("按记录更正计数"),
}

WEEKDAY_NAMES = {
    "monday": N_("星期一"),
    "tuesday": N_("星期二"),
    "wednesday": N_("星期三"),
    "thursday": N_("星期四"),
    "friday": N_("星期五"),
    "saturday": N_("星期六"),
    "sunday": N_("星期日"),
}

WEEKDAY_SHORT = (N_("一"), N_("二"), N_("三"), N_("四"), N_("五"), N_("六"), N_("日"))

REASONS = {
    "past": N_("已过去"),
    "too_soon": N_("未到提前预约期"),
    "not_released": N_("尚未放票"),
    "closed": N_("闭馆"),
    "channel_not_open": N_("渠道未开通"),
    "sold_out": N_("已约满"),
}
