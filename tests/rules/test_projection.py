"""The projected peak occupancy: a pure function of the rules."""

from __future__ import annotations

import tomllib
from typing import Any

from reservations.rules.projection import project
from reservations.rules.schema import Rules
from tests.conftest import REPO


def museum(**sections: dict[str, Any]) -> Rules:
    document = tomllib.loads((REPO / "config" / "museum.toml").read_text())
    for name, values in sections.items():
        document.setdefault(name, {}).update(values)
    return Rules.model_validate(document)


def people_at(rules: Rules, hhmm: str, **quotas: int) -> int:
    hour, minute = map(int, hhmm.split(":"))
    at = hour * 60 + minute
    projection = project(rules, quotas)
    current = 0
    for step in projection.steps:
        if step.start <= at:
            current = step.people
    return current


def test_back_to_back_slots_of_the_visit_length_never_overlap() -> None:
    projection = project(museum())
    # 250 individual + 100 team, one slot at a time, and the day's 50 walk-in places,
    # which are not split by slot: all of them may be in at any time.
    assert projection.peak == 400
    assert projection.peak_start == 9 * 60
    assert projection.peak_end == 17 * 60
    assert [step.people for step in projection.steps] == [400]
    assert [step.of("walk_in") for step in projection.steps] == [50]
    assert not projection.exceeds_limit
    assert projection.minutes_over_limit() == 0


def test_longer_visits_overlap_the_next_slot_and_pass_the_limit() -> None:
    rules = museum(occupancy={"typical_visit_minutes": 150})
    projection = project(rules)
    assert projection.peak == 750
    assert (projection.peak_start, projection.peak_end) == (11 * 60, 11 * 60 + 30)
    assert projection.exceeds_limit
    assert projection.minutes_over_limit() == 90  # 11:00, 13:00 and 15:00, half an hour each
    assert people_at(rules, "10:59") == 400
    assert people_at(rules, "11:29") == 750
    assert people_at(rules, "11:30") == 400
    raised = museum(occupancy={"typical_visit_minutes": 150, "instantaneous_limit": 750})
    assert project(raised).exceeds_limit is False


def test_the_daily_quota_caps_the_people_of_a_channel() -> None:
    rules = museum(occupancy={"typical_visit_minutes": 240})
    assert people_at(rules, "11:00") == 500 + 200 + 50
    assert people_at(rules, "11:00", individual=300) == 300 + 200 + 50
    assert people_at(rules, "11:00", individual=300, team=0) == 300 + 50
    assert people_at(rules, "11:00", individual=300, team=0, walk_in=0) == 300
    off = museum(occupancy={"typical_visit_minutes": 240}, walk_in={"daily_quota": 0})
    assert people_at(off, "11:00") == 500 + 200


def test_everybody_is_out_at_closing_time() -> None:
    rules = museum(occupancy={"typical_visit_minutes": 24 * 60})
    projection = project(rules)
    assert projection.steps[-1].start < 17 * 60
    # every slot's visitors stay until closing, capped by the quotas
    assert projection.peak == 1000 + 400 + 50


def test_a_closed_day_brings_nobody() -> None:
    projection = project(museum(), closed=True)
    assert projection.peak == 0
    assert projection.peak_start is None and projection.peak_end is None
    assert projection.as_dict()["peak_start"] is None


def test_gaps_between_slots_are_empty() -> None:
    rules = museum(walk_in={"daily_quota": 0})
    slots = [
        {"id": "am", "start": "09:00", "end": "10:00", "individual_capacity": 100},
        {"id": "pm", "start": "14:00", "end": "15:00", "individual_capacity": 80},
    ]
    rules = Rules.model_validate({**rules.model_dump(mode="json"), "slots": slots})
    assert people_at(rules, "09:00") == 100
    assert people_at(rules, "12:00") == 0
    assert people_at(rules, "14:30") == 80
    assert project(rules).as_dict()["steps"][0] == {
        "at": "09:00", "individual": 100, "team": 0, "walk_in": 0, "people": 100
    }  # fmt: skip
