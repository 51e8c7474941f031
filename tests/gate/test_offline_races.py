"""Uploads of offline scans under real concurrency: two worker processes, requests released
together by a barrier, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Service, admin_headers, set_clock, start_server, stop_server
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
            for device in ("tablet-1", "tablet-2", "tablet-3"):
                leased = client.get(
                    "/api/v1/gate/offline-data", params={"device": device}, headers=staff
                )
                assert leased.json()["allowance"] == 20
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


@pytest.mark.server
def test_two_devices_offline_hold_the_live_limit_when_both_upload(
    service: Service, tmp_path: Path
) -> None:
    service.rules_file(
        tmp_path, occupancy={"instantaneous_limit": 30}, gate={"offline_allowance": 15}
    )
    server = start_server(service, tmp_path, workers=2)
    try:
        with server.client() as client:
            payloads = [
                ticket["qr_payload"] for _ in range(10) for ticket in book(client, 5)["tickets"]
            ]
            set_clock(client, OPENING)
            staff = staff_headers(client)
            # Both tablets take their share while online, then lose the network: the
            # online gates have no place left (30 - 15 - 15).
            for device in ("tablet-a", "tablet-b"):
                data = client.get(
                    "/api/v1/gate/offline-data", params={"device": device}, headers=staff
                ).json()
                assert data["allowance"] == 15
        device_a, device_b, online, forged = (
            payloads[:15],
            payloads[15:31],  # one more than its lease: the tablet would refuse it
            payloads[31:41],
            payloads[41:50],
        )

        def upload(device: str, codes: list[str]) -> tuple[str, dict[str, Any]]:
            scans = [
                {"id": str(uuid.uuid4()), "payload": p, "gate": device, "at": OPENING}
                for p in codes
            ]
            return "/api/v1/gate/offline-scans", {"device": device, "scans": scans}

        # The network returns: both upload at the same moment as the online gates scan
        # ten more and a token without a lease uploads nine it never scanned.
        requests = [upload("tablet-a", device_a), upload("tablet-b", device_b)]
        requests += [
            ("/api/v1/gate/scan", {"payload": p, "gate": f"east-{n}"}) for n, p in enumerate(online)
        ]
        requests.append(upload("laptop", forged))
        answers = fire_together(server.base_url, requests, staff)

        a_results, b_results = answers[0]["results"], answers[1]["results"]
        assert [r["admitted"] for r in a_results] == [True] * 15
        assert [r["admitted"] for r in b_results] == [True] * 15 + [False]
        assert b_results[-1]["problem"] == "past_allowance"
        assert all(not answer["admitted"] for answer in answers[2:12])
        assert {answer["reason"] for answer in answers[2:12]} == {"capacity_full"}
        assert {r["problem"] for r in answers[12]["results"]} == {"no_lease"}
        with server.client() as client:
            occupancy = client.get("/api/v1/occupancy").json()
            assert occupancy["inside"] == 30 and occupancy["entered_today"] == 30
            # Both leases ended with their uploads: nothing is held any more.
            leases = client.get(
                "/api/v1/admin/offline-leases", headers=admin_headers(client)
            ).json()
            assert leases["held"] == 0
    finally:
        log = stop_server(server)
    assert "Traceback" not in log
