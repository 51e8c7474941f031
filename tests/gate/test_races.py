"""The gate's guarantees under real concurrency: two worker processes, requests released
together by a barrier, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Service, set_clock, start_server, stop_server
from tests.gate.factories import OPENING, book, book_people, scan, staff_headers
from tests.support import people


def fire_together(
    base_url: str, requests: list[tuple[str, dict[str, Any]]], headers: dict[str, str]
) -> list[dict[str, Any]]:
    """POST every (path, body) at once from its own thread; every answer must be 200."""
    barrier = threading.Barrier(len(requests))
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=len(requests))
    with httpx.Client(base_url=base_url, timeout=60, limits=limits, headers=headers) as client:

        def send(request: tuple[str, dict[str, Any]]) -> httpx.Response:
            barrier.wait(timeout=30)
            return client.post(request[0], json=request[1])

        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            responses = list(pool.map(send, requests))
    failed = [
        (n, r.status_code, r.text[:300]) for n, r in enumerate(responses) if r.status_code != 200
    ]
    assert not failed, failed
    return [r.json() for r in responses]


def _scan(payload: str, gate: str, direction: str = "in") -> tuple[str, dict[str, Any]]:
    return "/api/v1/gate/scan", {"payload": payload, "gate": gate, "direction": direction}


def _verdicts(results: list[dict[str, Any]]) -> Counter[str | None]:
    return Counter(result["reason"] for result in results)


@pytest.mark.server
def test_gates_scanning_one_ticket_together_admit_it_once(service: Service, tmp_path: Path) -> None:
    server = start_server(service, tmp_path, workers=2)
    try:
        with server.client() as client:
            payload = book(client)["tickets"][0]["qr_payload"]
            set_clock(client, OPENING)
            staff = staff_headers(client)
        results = fire_together(
            server.base_url, [_scan(payload, f"east-{n}") for n in range(16)], staff
        )
        assert _verdicts(results) == {None: 1, "already_used": 15}
        # Checking out together: the party leaves once.
        outs = fire_together(
            server.base_url, [_scan(payload, f"exit-{n}", "out") for n in range(8)], staff
        )
        assert _verdicts(outs) == {None: 1, "not_inside": 7}
        with server.client() as client:
            assert client.get("/api/v1/occupancy").json() == {
                "inside": 0,
                "limit": 600,
                "entered_today": 1,
                "exited_today": 1,
            }
    finally:
        log = stop_server(server)
    assert "Traceback" not in log


@pytest.mark.server
def test_twenty_at_once_against_five_places_admit_five(service: Service, tmp_path: Path) -> None:
    service.rules_file(tmp_path, occupancy={"instantaneous_limit": 5})
    server = start_server(service, tmp_path, workers=2)
    try:
        with server.client() as client:
            payloads = [
                ticket["qr_payload"]
                for _ in range(4)
                for ticket in book(client, visitors=5)["tickets"]
            ]
            set_clock(client, OPENING)
            staff = staff_headers(client)
        results = fire_together(
            server.base_url, [_scan(p, f"east-{n % 4}") for n, p in enumerate(payloads)], staff
        )
        assert _verdicts(results) == {None: 5, "capacity_full": 15}
        assert max(result["occupancy"]["inside"] for result in results) == 5
        admitted = [p for p, r in zip(payloads, results, strict=True) if r["admitted"]]
        refused = [p for p, r in zip(payloads, results, strict=True) if not r["admitted"]]

        # Everybody out at once, twice over: by ticket and by turnstile count. Occupancy
        # ends at zero, never below, and each ticket checks out once.
        leaving = [_scan(p, "exit-a", "out") for p in admitted + admitted]
        leaving += [("/api/v1/gate/exits", {"gate": "exit-b", "count": 1}) for _ in range(10)]
        fire_together(server.base_url, leaving, staff)
        with server.client() as client:
            occupancy = client.get("/api/v1/occupancy").json()
        assert occupancy == {"inside": 0, "limit": 5, "entered_today": 5, "exited_today": 5}

        # The refused tickets stayed unused: the next five of them get in.
        again = fire_together(server.base_url, [_scan(p, "east-0") for p in refused], staff)
        assert _verdicts(again) == {None: 5, "capacity_full": 10}
    finally:
        log = stop_server(server)
    assert "Traceback" not in log


@pytest.mark.server
def test_a_party_scanned_at_two_gates_at_once_enters_once_all_or_none(
    service: Service, tmp_path: Path
) -> None:
    service.rules_file(tmp_path, occupancy={"instantaneous_limit": 7})
    server = start_server(service, tmp_path, workers=2)
    try:
        with server.client() as client:
            family = book(client, visitors=5)["tickets"]
            friends = book(client, visitors=4)["tickets"]
            set_clock(client, OPENING)
            staff = staff_headers(client)
        # Every ticket of two bookings scanned as a party at once, at eight gates: each
        # booking enters once, all of it or none; five and four do not both fit in seven.
        requests = [
            ("/api/v1/gate/scan", {**_scan(t["qr_payload"], f"east-{n}")[1], "party": True})
            for n, t in enumerate(family + friends)
        ]
        results = fire_together(server.base_url, requests, staff)
        admitted = [r for r in results if r["admitted"]]
        assert len(admitted) == 1, _verdicts(results)
        (winner,) = admitted
        size = len(winner["admitted_tickets"])
        assert size in (4, 5) and winner["people"] == size
        assert winner["occupancy"]["inside"] == size
        assert set(_verdicts(results)) <= {None, "already_used", "capacity_full"}
        with server.client() as client:
            assert client.get("/api/v1/occupancy").json()["inside"] == size
            staff = staff_headers(client)
            # The other booking entered nobody: its tickets are all still unused.
            others = friends if size == 5 else family
            for ticket in others:
                assert scan(client, staff, ticket["qr_payload"])["reason"] in (
                    None,
                    "capacity_full",
                )
    finally:
        log = stop_server(server)
    assert "Traceback" not in log


@pytest.mark.server
def test_id_card_qr_and_number_of_one_ticket_at_once_admit_it_once(
    service: Service, tmp_path: Path
) -> None:
    number = people.resident_id()
    server = start_server(service, tmp_path, workers=2)
    try:
        with server.client() as client:
            ticket = book_people(client, [people.visitor(id_number=number)])["tickets"][0]
            set_clock(client, OPENING)
            staff = staff_headers(client)
        document = {"id_type": "resident_id", "id_number": number}
        requests = []
        for n in range(4):
            requests.append(_scan(ticket["qr_payload"], f"east-{n}"))
            requests.append(("/api/v1/gate/scan", {"document": document, "gate": f"west-{n}"}))
            requests.append(
                ("/api/v1/gate/scan", {"ticket_number": ticket["ticket_id"], "gate": f"n-{n}"})
            )
        results = fire_together(server.base_url, requests, staff)
        assert _verdicts(results) == {None: 1, "already_used": 11}
        with server.client() as client:
            assert client.get("/api/v1/occupancy").json()["inside"] == 1
    finally:
        log = stop_server(server)
    assert "Traceback" not in log
    assert number not in log
