"""Words the visitor pages put together in Python: translated when shown, because the
page's language is known only while a template renders."""

from __future__ import annotations

from datetime import date, datetime

from markupsafe import Markup, escape

from reservations.booking.models import BookingStatus
from reservations.errors import DomainError
from reservations.privacy.documents import DOCUMENT_KINDS
from reservations.tickets.models import TicketStatus
from reservations.web import i18n


class Msg:
    """A message in the source language (Chinese) with ``%(name)s`` placeholders, put into
    the current language when it becomes text. Variables may be ``Msg`` themselves."""

    __slots__ = ("msgid", "variables")

    def __init__(self, msgid: str, **variables: object) -> None:
        self.msgid = msgid
        self.variables = variables

    def __str__(self) -> str:
        values = {name: str(value) for name, value in self.variables.items()}
        return i18n.gettext(self.msgid, **values)

    def __html__(self) -> Markup:
        return escape(str(self))

    def __repr__(self) -> str:
        return f"Msg({self.msgid!r})"


class Plural:
    """A counted message (``%(num)s`` is the count), in the form the reader's language uses
    for that count: "1 day", "2 days" (see ``web.i18n.ngettext``)."""

    __slots__ = ("count", "msgid", "plural", "variables")

    def __init__(self, msgid: str, plural: str, count: int, **variables: object) -> None:
        self.msgid = msgid
        self.plural = plural
        self.count = count
        self.variables = variables

    def __str__(self) -> str:
        values = {name: str(value) for name, value in self.variables.items()}
        return i18n.ngettext(self.msgid, self.plural, self.count, num=self.count, **values)

    def __html__(self) -> Markup:
        return escape(str(self))


class ListText:
    """Items joined as the reader's language lists them: ``周一、周二`` or ``Mon, Tue``."""

    __slots__ = ("items",)

    def __init__(self, items: list[Msg]) -> None:
        self.items = items

    def __str__(self) -> str:
        return i18n.list_separator().join(str(item) for item in self.items)

    def __html__(self) -> Markup:
        return escape(str(self))


class DateText:
    """A date as the reader's language writes it, in a style of ``i18n.format_day``."""

    __slots__ = ("day", "style")

    def __init__(self, day: date, style: str = "short") -> None:
        self.day = day
        self.style = style

    def __str__(self) -> str:
        return i18n.format_day(self.day, self.style)

    def __html__(self) -> Markup:
        return escape(str(self))


class MomentText:
    """A date and a time of day, e.g. ``3月10日 周二 00:00``."""

    __slots__ = ("moment",)

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __str__(self) -> str:
        return f"{DateText(self.moment.date())} {self.moment:%H:%M}"

    def __html__(self) -> Markup:
        return escape(str(self))


class ErrorText:
    """A domain error's own message, in the reader's language."""

    __slots__ = ("error",)

    def __init__(self, error: DomainError) -> None:
        self.error = error

    def __str__(self) -> str:
        return self.error.message(i18n.current_language.get())

    def __html__(self) -> Markup:
        return escape(str(self))


# The forms' choice of document, from the registry: (API name, label).
ID_TYPES: tuple[tuple[str, Msg], ...] = tuple(
    (kind.value, Msg(kind.label)) for kind in DOCUMENT_KINDS
)

BOOKING_STATUS: dict[str, Msg] = {
    BookingStatus.PENDING: Msg("等待审核"),
    BookingStatus.CONFIRMED: Msg("已确认"),
    BookingStatus.CANCELLED: Msg("已取消"),
    BookingStatus.REJECTED: Msg("未通过审核"),
    BookingStatus.CHECKED_IN: Msg("已入馆"),
    BookingStatus.NO_SHOW: Msg("预约后未到馆"),
    BookingStatus.EXPIRED: Msg("已过期"),
}
# The badge colour of each status (see app.css).
BOOKING_TONE: dict[str, str] = {
    BookingStatus.PENDING: "warn",
    BookingStatus.CONFIRMED: "ok",
    BookingStatus.CANCELLED: "bad",
    BookingStatus.REJECTED: "bad",
    BookingStatus.CHECKED_IN: "ok",
    BookingStatus.NO_SHOW: "bad",
    BookingStatus.EXPIRED: "bad",
}


def booking_status(status: str) -> Msg:
    return BOOKING_STATUS.get(status, Msg("未知状态"))


def ticket_status(status: str, used: bool) -> Msg:
    if status != TicketStatus.VALID:
        return Msg("已作废")
    return Msg("已使用") if used else Msg("有效")
