"""Uploads of offline scans under real concurrency: two worker processes, requests released
together by a barrier, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import Service, set_clock, start_server, stop_server
from tests.gate.factories import OPENING, book, staff_headers
from tests.gate.test_races import fire_together


@pytest.mark.server
def test_one_upload_sent_many_times_at_once_records_each_scan_once(
    service: Service, tmp_path: Path
) -> None:
    server = start_server(service, tmp_path, workers=2)
    try:
        with server.client() as client:
            payloads = [ticket["qr_payload"] for ticket in book(client, visitors=5)["tickets"]]
            shared = book(client)["tickets"][0]["qr_payload"]
            set_clock(client, OPENING)
            staff = staff_headers(client)
        upload = {
            "device": "tablet-1",
            "scans": [
                {"id": str(uuid.uuid4()), "payload": p, "gate": "east-1", "at": OPENING}
                for p in payloads
            ],
        }
        # A flaky network: the same upload six times at once, and at the same moment two
        # other devices upload one ticket they both admitted.
        requests = [("/api/v1/gate/offline-scans", upload) for _ in range(6)]
        for device in ("tablet-2", "tablet-3"):
            scan = {"id": str(uuid.uuid4()), "payload": shared, "gate": device, "at": OPENING}
            requests.append(("/api/v1/gate/offline-scans", {"device": device, "scans": [scan]}))
        answers = fire_together(server.base_url, requests, staff)

        first = answers[0]["results"]
        assert all(answer["results"] == first for answer in answers[:6])
        assert [r["admitted"] for r in first] == [True] * 5
        conflicts = sorted(answers[i]["results"][0]["conflict"] for i in (6, 7))
        assert conflicts == [False, True]
        with server.client() as client:
            assert client.get("/api/v1/occupancy").json() == {
                "inside": 6,
                "limit": 600,
                "entered_today": 6,
                "exited_today": 0,
            }
    finally:
        log = stop_server(server)
    assert "Traceback" not in log
