"""The calendar of the next days as the visitor reads it: places left per slot, and plain
words for every day that cannot be booked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session

from reservations import clock
from reservations.booking import service as booking
from reservations.booking.models import INDIVIDUAL
from reservations.booking.schemas import DayAvailability
from reservations.rules import service as rules_service
from reservations.rules.schema import WEEKDAYS, Rules
from reservations.visitor.text import DateText, ListText, MomentText, Msg, Plural

# A slot with this share of its places or fewer left is shown as running out.
SCARCE_SHARE = 0.1


@dataclass(frozen=True, slots=True)
class SlotView:
    id: str
    start: str
    end: str
    capacity: int
    remaining: int

    @property
    def is_open(self) -> bool:
        return self.remaining > 0

    @property
    def is_scarce(self) -> bool:
        return 0 < self.remaining <= max(10, int(self.capacity * SCARCE_SHARE))


@dataclass(frozen=True, slots=True)
class DayView:
    day: date
    bookable: bool
    reason: str | None
    badge: Msg
    short: Msg
    tone: str
    explanation: Msg | Plural | None
    slots: list[SlotView]
    remaining: int
    is_today: bool
    note: str | None

    @property
    def anchor(self) -> str:
        return f"d-{self.day.isoformat()}"

    @property
    def label(self) -> DateText:
        return DateText(self.day, "short")

    @property
    def long_label(self) -> DateText:
        return DateText(self.day, "long")


@dataclass(frozen=True, slots=True)
class Calendar:
    days: list[DayView]
    # Monday-first weeks for the small month-like grid; None pads days outside the range.
    weeks: list[list[DayView | None]]

    @property
    def any_bookable(self) -> bool:
        return any(day.bookable for day in self.days)


def badge_for(reason: str | None) -> tuple[Msg, Msg, str]:
    """The day's status in a word, in one or two characters for the small grid, and its tone."""
    if reason is None:
        return Msg("可预约"), Msg("可约"), "ok"
    if reason == rules_service.SOLD_OUT:
        return Msg("已约满"), Msg("约满"), "bad"
    if reason == rules_service.CLOSED:
        return Msg("闭馆"), Msg("闭馆"), "muted"
    if reason == rules_service.NOT_RELEASED:
        return Msg("未开放"), Msg("未开"), "warn"
    return Msg("不可预约"), Msg("不可约"), "muted"


WEEKDAY_NAMES = {
    "monday": Msg("周一"),
    "tuesday": Msg("周二"),
    "wednesday": Msg("周三"),
    "thursday": Msg("周四"),
    "friday": Msg("周五"),
    "saturday": Msg("周六"),
    "sunday": Msg("周日"),
}


def closed_weekdays(rules: Rules) -> Msg | None:
    """``每周一闭馆``, from the rules in force."""
    names = [WEEKDAY_NAMES[day] for day in WEEKDAYS if day in rules.hours.closed_weekdays]
    if not names:
        return None
    return Msg("每%(days)s闭馆。", days=ListText(names))


def explain(
    reason: str | None, day: date, rules: Rules, note: str | None = None
) -> Msg | Plural | None:
    """Why ``day`` cannot be booked by individuals, in words a first-time visitor follows."""
    if reason is None:
        return None
    today = clock.today()
    if reason == rules_service.PAST:
        return Msg("这一天已经过去。")
    if reason == rules_service.TOO_SOON:
        days = rules.individual.min_days_ahead
        if day == today:
            same_day = "不接受当天预约：请至少提前%(num)s天预约。"
            return Plural(same_day, same_day, days)
        too_late = "需至少提前%(num)s天预约，这一天已来不及预约。"
        return Plural(too_late, too_late, days)
    if reason == rules_service.NOT_RELEASED:
        opens = booking.released_at(rules, day)
        return Msg("尚未开放预约，%(when)s起可预约。", when=MomentText(opens))
    if reason == rules_service.CLOSED:
        if note:
            return Msg("本日闭馆：%(note)s", note=note)
        if WEEKDAYS[day.weekday()] in rules.hours.closed_weekdays:
            return Msg("本馆每%(weekday)s闭馆。", weekday=WEEKDAY_NAMES[WEEKDAYS[day.weekday()]])
        return Msg("本日闭馆。")
    if reason == rules_service.CHANNEL_NOT_OPEN:
        return Msg("个人预约将于%(date)s开放。", date=DateText(rules.individual.opens_on, "long"))
    if reason == rules_service.SOLD_OUT:
        return Msg("名额已约满。有人取消时名额会重新开放，可稍后再来看看。")
    return Msg("这一天暂不可预约。")


def day_view(day: DayAvailability, rules: Rules) -> DayView:
    badge, short, tone = badge_for(day.reason)
    return DayView(
        day=day.day,
        bookable=day.bookable,
        reason=day.reason,
        badge=badge,
        short=short,
        tone=tone,
        explanation=explain(day.reason, day.day, rules, day.note),
        slots=[
            SlotView(s.id, s.start, s.end, s.capacity_of(INDIVIDUAL), s.remaining_of(INDIVIDUAL))
            for s in day.slots
        ],
        remaining=day.of(INDIVIDUAL).remaining,
        is_today=day.day == clock.today(),
        note=day.note,
    )


def upcoming(session: Session) -> Calendar:
    """From today to one day past the last released one."""
    rules = rules_service.current(session)
    start = clock.today()
    span = min(rules.individual.max_days_ahead + 1, booking.MAX_AVAILABILITY_DAYS - 1)
    end = start + timedelta(days=span)
    days = [day_view(day, rules) for day in booking.availability(session, start, end).days]
    return Calendar(days, _weeks(days))


def one_day(session: Session, day: date) -> DayView:
    rules = rules_service.current(session)
    return day_view(booking.availability(session, day, day).days[0], rules)


def _weeks(days: list[DayView]) -> list[list[DayView | None]]:
    if not days:
        return []
    cells: list[DayView | None] = [None] * days[0].day.weekday()
    cells.extend(days)
    cells.extend([None] * (-len(cells) % 7))
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]
