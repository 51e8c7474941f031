"""Rates as the rules write them: ``"120/minute"``, ``"10/second"`` or ``"off"``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^(\d+)/(second|minute|hour|day)$")


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` events per ``period`` seconds, with a burst of up to ``count`` at once.

    A count of zero lets nothing through.
    """

    count: int
    period: float

    @property
    def interval(self) -> float:
        """Seconds of allowance one event uses up."""
        return self.period / self.count if self.count else float("inf")


def parse(text: str) -> Rate | None:
    """The rate, or ``None`` when it is ``off``."""
    cleaned = text.strip()
    if cleaned == "off":
        return None
    match = _RATE.match(cleaned)
    if match is None:
        raise ValueError("expected a rate such as 60/minute, or off")
    return Rate(int(match[1]), float(_PERIODS[match[2]]))
