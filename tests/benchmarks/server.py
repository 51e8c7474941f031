"""The service under test for the benchmark: ``reservations serve`` as real worker processes
on a free loopback port, on SQLite or on a throwaway PostgreSQL database."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.support import server as support_server
from tests.support.server import Server

FAKE_NOW = "2026-03-09T10:00:00+08:00"  # a Monday; Tuesday 2026-03-10 is bookable
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "benchmark-admin-password"

# The museum's rules (1,000 individual places a day), with room in every slot so that the
# day's quota is what sells out, a gate open all day for the benchmark's tickets and a live
# limit high enough for every ticket of the booking scenario to be admitted.
RULE_CHANGES = {
    "occupancy": {"instantaneous_limit": 1_000_000, "building_limit": 1_000_000},
    "gate": {"entry_opens_minutes_before": 600, "entry_closes_minutes_after_end": 600},
}
SLOT_CAPACITY = 1_000_000


def rules_file(directory: Path) -> Path:
    path = support_server.rules_file(directory, RULE_CHANGES)
    document = tomllib.loads(path.read_text())
    for slot in document["slots"]:
        slot["individual_capacity"] = SLOT_CAPACITY
    path.write_text(support_server.to_toml(document))
    return path


def start(directory: Path, database_url: str | None, workers: int) -> Server:
    directory.mkdir(parents=True, exist_ok=True)
    env = {
        "RESERVATIONS_DATA_DIR": str(directory / "data"),
        "RESERVATIONS_FAKE_NOW": FAKE_NOW,
        "RESERVATIONS_ADMIN_USERNAME": ADMIN_USERNAME,
        "RESERVATIONS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "RESERVATIONS_RATE_LIMITS": "off",
        "RESERVATIONS_MUSEUM_CONFIG": str(rules_file(directory)),
    }
    if database_url:
        env["RESERVATIONS_DATABASE_URL"] = database_url
    return support_server.launch(env, directory, workers)
