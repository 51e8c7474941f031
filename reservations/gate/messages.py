"""Verdicts in words, in the request's language (English from ``locale/en/gate.po``)."""

from __future__ import annotations

from reservations.gate import leases, service
from reservations.web import i18n

# A ticket looked up by its number that a scan would admit now.
ADMISSIBLE = "admissible"

_VERDICTS = {
    service.ADMITTED: "准许入馆",
    service.INVALID: "无效票码：无法识别或非本馆签发",
    service.CANCELLED_TICKET: "预约已取消",
    service.WRONG_DATE: "不是今天的门票",
    service.TOO_EARLY: "未到入场时间",
    service.TOO_LATE: "已过入场时间",
    service.ALREADY_USED: "门票已使用",
    service.CAPACITY_FULL: "馆内人数已达上限，请稍候",
    service.NOT_APPROVED: "团队预约未通过审核",
    service.NO_BOOKING: "该证件今天没有预约",
    service.GUARDIAN_REQUIRED: "未满14周岁，须由同一预约的成年人陪同入馆",
    ADMISSIBLE: "可以入馆：请核对证件后放行",
    leases.NO_LEASE: "该设备当时没有离线名额：未计入入馆",
    leases.PAST_ALLOWANCE: "超出该设备的离线名额：未计入入馆",
    leases.BEFORE_LEASE: "扫码时间早于离线名额生效：未计入入馆",
    leases.AFTER_UPLOAD: "扫码时间晚于上传时间：未计入入馆",
    service.CHECKED_OUT: "已离馆",
    service.NOT_INSIDE: "该票当前不在馆内",
    "scan_id_reused": "该扫码编号已用于另一次扫码，未记录",
}
# With the time the ticket's entry window opens or closed, when known.
_AT_TIME = {
    service.TOO_EARLY: "未到入场时间：%(time)s 起可入馆",
    service.TOO_LATE: "已过入场时间：入场截至 %(time)s",
}


def verdict_message(verdict: str, language: str, *, time: str | None = None) -> str:
    """The verdict in ``language``; ``time`` (HH:MM) says when entry opens or closed."""
    with i18n.speaking(language):
        if time is not None and verdict in _AT_TIME:
            return i18n.gettext(_AT_TIME[verdict], time=time)
        return i18n.gettext(_VERDICTS.get(verdict, verdict))


def verdict_messages(language: str) -> dict[str, str]:
    """Every verdict in ``language``, for a scanner that judges tickets itself offline;
    ``<reason>_at`` holds the words with a ``{time}`` to fill in."""
    with i18n.speaking(language):
        words = {key: i18n.gettext(text) for key, text in _VERDICTS.items()}
        for key, text in _AT_TIME.items():
            words[f"{key}_at"] = i18n.gettext(text, time="{time}")
        return words
