"""Small factories of valid (fictional) identity documents and booking bodies."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from reservations.privacy.documents import resident_id_check_character

_sequence = itertools.count(100)


def resident_id(
    born: date = date(1990, 5, 17), area: str = "410105", sequence: int | None = None
) -> str:
    number = sequence if sequence is not None else next(_sequence) % 1000
    first17 = f"{area}{born:%Y%m%d}{number:03d}"
    return first17 + resident_id_check_character(first17)


def visitor(
    name: str = "张三",
    born: date = date(1990, 5, 17),
    sequence: int | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    body = {
        "name": name,
        "id_type": "resident_id",
        "id_number": resident_id(born, sequence=sequence),
    }
    body.update(overrides)
    return body


def booking(
    day: date,
    slot_id: str = "0900",
    visitors: list[dict[str, Any]] | None = None,
    phone: str = "13800138000",
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "date": day.isoformat(),
        "slot_id": slot_id,
        "phone": phone,
        "consent": True,
        "visitors": visitors if visitors is not None else [visitor()],
    }
    body.update(overrides)
    return body
