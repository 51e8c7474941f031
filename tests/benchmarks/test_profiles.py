"""The benchmark's profile summary counts each sample for the innermost known layer."""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks import profiles

ROOT = "Runner.run (asyncio/runners.py:118);FastAPI.__call__ (fastapi/applications.py:1224)"


def test_samples_count_for_the_innermost_known_layer(tmp_path: Path) -> None:
    (tmp_path / "service-sqlite-x2-booking-101.txt").write_text(
        f"{ROOT};create (reservations/booking/service.py:90);"
        "execute (sqlalchemy/engine/base.py:1400);helper (six.py:3) 3\n"
        f"{ROOT};serialize (pydantic/main.py:400) 1\n"
    )
    (tmp_path / "service-sqlite-x2-booking-102.txt").write_text(
        f"{ROOT};create (reservations/booking/service.py:90) 2\n"
    )
    (tmp_path / "floor-sqlite-x2-booking-103.txt").write_text(
        f"{ROOT};Floor.book (tests/benchmarks/floor.py:500) 4\n"
    )
    (tmp_path / "unrelated.txt").write_text("not a profile 7\n")

    found = profiles.collect(tmp_path)

    assert found[("service", "sqlite", 2, "booking")] == {
        "SQLAlchemy": 3,
        "pydantic": 1,
        "reservations.booking": 2,
    }
    assert found[("floor", "sqlite", 2, "booking")] == {"the floor's own code": 4}
    table = profiles.summarise(
        tmp_path, {("service", "sqlite", 2, "booking"): 4, ("floor", "sqlite", 2, "booking"): 8}
    )
    # SQLAlchemy: 3 samples of 4 ms for 4 answers; none in the floor.
    assert "| SQLAlchemy | 0.0 | 50.0 | 0.00 | 3.00 | +3.00 |" in table
    assert "| all | 100.0 | 100.0 | 2.00 | 6.00 | +4.00 |" in table
