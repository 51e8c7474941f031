"""How many people the bookings alone could bring into the building at once.

The projection assumes the worst the rules allow: every slot full, every visitor arriving
at the start of their slot and staying the typical visit length (or until closing, when
everybody leaves). At each minute the people inside are the capacities of the slots whose
visits cover that minute, per channel, never more than the channel's daily quota, since
no more than that can be booked for the day. The gate enforces the live limit whatever
this says; the projection tells an admin, before saving, whether ticket holders could be
kept waiting at the door.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reservations.rules import channels
from reservations.rules.schema import Rules, Slot, minutes_of


@dataclass(frozen=True, slots=True)
class Step:
    """From ``start`` (minutes after midnight) until the next step, ``people`` are inside:
    ``by_channel`` of each channel, in the registry's order (``rules.channels``)."""

    start: int
    by_channel: tuple[int, ...]

    @property
    def people(self) -> int:
        return sum(self.by_channel)

    def of(self, channel: str) -> int:
        return self.by_channel[channels.NAMES.index(channel)]

    @property
    def individual(self) -> int:
        return self.of(channels.INDIVIDUAL)

    @property
    def team(self) -> int:
        return self.of(channels.TEAM)


@dataclass(frozen=True, slots=True)
class Projection:
    opens: int
    closes: int
    steps: tuple[Step, ...]
    limit: int
    building_limit: int

    @property
    def peak(self) -> int:
        return max((step.people for step in self.steps), default=0)

    @property
    def peak_start(self) -> int | None:
        """The first minute at which the peak is reached (None when nobody can come)."""
        if self.peak == 0:
            return None
        return next(step.start for step in self.steps if step.people == self.peak)

    @property
    def peak_end(self) -> int | None:
        """The minute the first peak ends (equal neighbouring steps are merged)."""
        start = self.peak_start
        if start is None:
            return None
        return next((step.start for step in self.steps if step.start > start), self.closes)

    @property
    def exceeds_limit(self) -> bool:
        return self.peak > self.limit

    def minutes_over_limit(self) -> int:
        total = 0
        for step, following in zip(self.steps, [*self.steps[1:], None], strict=True):
            end = following.start if following is not None else self.closes
            if step.people > self.limit:
                total += end - step.start
        return total

    def as_dict(self) -> dict[str, object]:
        return {
            "peak": self.peak,
            "peak_start": hhmm(self.peak_start),
            "peak_end": hhmm(self.peak_end),
            "instantaneous_limit": self.limit,
            "exceeds_limit": self.exceeds_limit,
            "minutes_over_limit": self.minutes_over_limit(),
            "steps": [
                {
                    "at": hhmm(step.start),
                    **dict(zip(channels.NAMES, step.by_channel, strict=True)),
                    "people": step.people,
                }
                for step in self.steps
            ],
        }


def hhmm(minutes: int | None) -> str | None:
    if minutes is None:
        return None
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def project(
    rules: Rules,
    quotas: Mapping[str, int] | None = None,
    *,
    closed: bool = False,
) -> Projection:
    """The people inside through one day; each channel's quota defaults to the rules'
    daily quota (``quotas`` by channel name: how a day's override takes part, 0 for a
    channel closed that day; ``closed`` closes them all).

    A channel whose places are not split by slot may bring its whole quota in any slot.
    """
    opens, closes = minutes_of(rules.hours.opens), minutes_of(rules.hours.closes)
    caps = [
        0 if closed else (quotas or {}).get(channel.name, rules.channel(channel.name).daily_quota)
        for channel in channels.CHANNELS
    ]
    visit = rules.occupancy.typical_visit_minutes
    visits = [
        (minutes_of(slot.start), min(minutes_of(slot.start) + visit, closes), slot)
        for slot in rules.slots
    ]
    boundaries = sorted({opens, *(start for start, _, _ in visits), *(end for _, end, _ in visits)})
    steps: list[Step] = []
    for minute in boundaries:
        if minute >= closes:
            continue
        covering = [slot for start, end, slot in visits if start <= minute < end]
        step = Step(
            start=minute,
            by_channel=tuple(
                min(sum(_places(channel, slot, cap) for slot in covering), cap)
                for channel, cap in zip(channels.CHANNELS, caps, strict=True)
            ),
        )
        if steps and steps[-1].by_channel == step.by_channel:
            continue
        steps.append(step)
    return Projection(
        opens=opens,
        closes=closes,
        steps=tuple(steps),
        limit=rules.occupancy.instantaneous_limit,
        building_limit=rules.occupancy.building_limit,
    )


def _places(channel: channels.Channel, slot: Slot, cap: int) -> int:
    return cap if channel.slot_field is None else int(getattr(slot, channel.slot_field))
