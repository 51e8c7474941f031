"""Team request bodies, leaders and member lists built from valid (fictional) documents."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.support import people


def leader(name: str = "李四", born: date = date(1980, 4, 2), **overrides: Any) -> dict[str, Any]:
    body = people.visitor(name, born=born)
    body["phone"] = "13900139000"
    body.update(overrides)
    return body


def members(count: int, born: date = date(2012, 9, 1)) -> list[dict[str, Any]]:
    return [people.visitor(f"学生{i}", born=born) for i in range(count)]


def team_request(
    day: date,
    slot_id: str = "0900",
    size: int = 35,
    organization: str = "郑州市第一中学",
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "date": day.isoformat(),
        "slot_id": slot_id,
        "organization": organization,
        "size": size,
        "leader": leader(),
        "consent": True,
    }
    body.update(overrides)
    return body
