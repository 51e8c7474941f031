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

from dataclasses import dataclass

from reservations.rules.schema import Rules, minutes_of


@dataclass(frozen=True, slots=True)
class Step:
    """From ``start`` (minutes after midnight) until the next step, ``people`` are inside."""

    start: int
    individual: int
    team: int

    @property
    def people(self) -> int:
        return self.individual + self.team


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
                    "individual": step.individual,
                    "team": step.team,
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
    *,
    individual_quota: int | None = None,
    team_quota: int | None = None,
    closed: bool = False,
) -> Projection:
    """The people inside through one day; quotas default to the rules' daily quotas.

    ``closed`` (or a quota of 0) is how a day's override takes part.
    """
    opens, closes = minutes_of(rules.hours.opens), minutes_of(rules.hours.closes)
    individual_cap = rules.individual.daily_quota if individual_quota is None else individual_quota
    team_cap = rules.team.daily_quota if team_quota is None else team_quota
    if closed:
        individual_cap = team_cap = 0
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
            individual=min(sum(slot.individual_capacity for slot in covering), individual_cap),
            team=min(sum(slot.team_capacity for slot in covering), team_cap),
        )
        if steps and steps[-1].individual == step.individual and steps[-1].team == step.team:
            continue
        steps.append(step)
    return Projection(
        opens=opens,
        closes=closes,
        steps=tuple(steps),
        limit=rules.occupancy.instantaneous_limit,
        building_limit=rules.occupancy.building_limit,
    )
