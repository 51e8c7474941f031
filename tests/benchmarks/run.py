"""The release-time rush and the gate, measured: ``python -m tests.benchmarks.run [--quick]``.

For each database (embedded SQLite, a throwaway PostgreSQL server) and number of worker
processes (1, 2, 4; ``--quick``: 2), it starts the service itself with rate limits off and
measures, against the loopback address only:

- ``/health`` at each concurrency used below: the baseline of this machine and client;
- the release rush: 1,500 visitors, 64 at a time, and 5,000 visitors, 128 at a time, each
  booking one place of the day's 1,000 (four slots of 250);
- the gate: the 1,000 tickets of the first rush scanned in at 32 at a time by staff.

Reported: requests per second, p50 and p99 latency, both as ratios to ``/health`` at the
same concurrency, what the answers said, resident memory per worker process, and the
proof that nothing was oversold: 201 answers == places booked per availability ==
capacity, and no server error. Writes a markdown table and JSON (``--out``). Exits non-zero
when any run oversold, double-admitted or answered with a server error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.benchmarks import load, server
from tests.support import people, pgcluster

RUSH_DAY = date(2026, 3, 10)
SECOND_RUSH_DAY = date(2026, 3, 11)
CAPACITY = 1000
SLOTS = ("0900", "1100", "1300", "1500")
GATE_TIME = "2026-03-10T12:00:00+08:00"
SCENARIO_TIME_LIMIT = 240.0


@dataclass
class Plan:
    backends: list[str]
    workers: list[int]
    health_requests: int
    rushes: list[tuple[int, int]]
    gate_concurrency: int = 32


FULL = Plan(["sqlite", "postgres"], [1, 2, 4], 1000, [(1500, 64), (5000, 128)])
QUICK = Plan(["sqlite", "postgres"], [2], 1000, [(1500, 64), (5000, 128)])


@dataclass
class Row:
    database: str
    workers: int
    scenario: str
    requests: int
    concurrency: int
    rate: float
    p50_ms: float
    p99_ms: float
    rate_ratio: float | None
    p99_ratio: float | None
    outcomes: dict[str, int]
    rss_mib: list[float]
    proof: str
    ok: bool
    extra: dict[str, Any] = field(default_factory=dict)


def visitor_booking(index: int, day: date) -> dict[str, Any]:
    born = date(1950, 1, 1) + timedelta(days=index // 1000)
    return people.booking(
        day,
        slot_id=SLOTS[index % len(SLOTS)],
        phone=f"138{index:08d}",
        visitors=[people.visitor(name="张三", born=born, sequence=index % 1000)],
    )


def ticket_payload(response: load.Answer) -> str | None:
    if response.status_code != 201:
        return None
    return str(response.json()["tickets"][0]["qr_payload"])


def gate_verdict(response: load.Answer) -> str:
    if response.status_code != 200:
        return load.describe(response)
    body = response.json()
    return "admitted" if body["admitted"] else f"refused {body['reason']}"


def admin_token(client: httpx.Client) -> str:
    answer = client.post(
        "/api/v1/auth/token",
        data={"username": server.ADMIN_USERNAME, "password": server.ADMIN_PASSWORD},
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def availability(client: httpx.Client, day: date) -> dict[str, int]:
    answer = client.get(f"/api/v1/availability?start={day}&end={day}").json()
    return dict(answer["days"][0]["individual"])


async def measure_configuration(
    plan: Plan, backend: str, workers: int, directory: Path, cluster: pgcluster.Cluster | None
) -> list[Row]:
    database_url = None
    database_name = None
    if backend == "postgres":
        assert cluster is not None
        database_name = f"bench_{uuid.uuid4().hex[:10]}"
        database_url = cluster.create_database(database_name)
    service = server.start(directory, database_url, workers)
    rows: list[Row] = []
    try:
        rows = await _scenarios(plan, backend, workers, service)
    finally:
        log = service.stop()
        if cluster is not None and database_name:
            cluster.drop_database(database_name)
    if "Traceback" in log:
        rows.append(_failure(backend, workers, "server log", "a traceback in the server log"))
    return rows


def _failure(backend: str, workers: int, scenario: str, why: str) -> Row:
    return Row(backend, workers, scenario, 0, 0, 0, 0, 0, None, None, {}, [], why, False)


async def _scenarios(plan: Plan, backend: str, workers: int, service: server.Server) -> list[Row]:
    base = service.base_url
    rows: list[Row] = []
    concurrencies = sorted({c for _, c in plan.rushes} | {plan.gate_concurrency})
    baselines: dict[int, load.Result] = {}
    for concurrency in concurrencies:
        calls = [load.Call("GET", "/health")] * plan.health_requests
        result = await load.run(
            f"/health ×{concurrency}", base, calls, concurrency, time_limit=SCENARIO_TIME_LIMIT
        )
        baselines[concurrency] = result
        rows.append(_row(backend, workers, "/health", result, None, service, "-", True))
        _progress(rows[-1])

    tickets: list[str] = []
    for number, (visitors, concurrency) in enumerate(plan.rushes):
        day = RUSH_DAY if number == 0 else SECOND_RUSH_DAY + timedelta(days=number - 1)
        offset = number * 10_000
        calls = [
            load.Call("POST", "/api/v1/bookings", json=visitor_booking(offset + index, day))
            for index in range(visitors)
        ]
        result = await load.run(
            f"rush {visitors}×{concurrency}",
            base,
            calls,
            concurrency,
            time_limit=SCENARIO_TIME_LIMIT,
            keep=ticket_payload,
        )
        with httpx.Client(base_url=base, timeout=60) as client:
            counted = availability(client, day)
        created = result.outcomes.get("201", 0)
        ok = (
            created == counted["booked"] == counted["capacity"] == CAPACITY
            and result.server_errors == 0
            and not result.timed_out
        )
        proof = (
            f"201s {created} = booked {counted['booked']} = capacity {counted['capacity']}; "
            f"5xx {result.server_errors}"
        )
        rows.append(
            _row(
                backend,
                workers,
                f"rush {visitors:,} visitors",
                result,
                baselines[concurrency],
                service,
                proof,
                ok,
            )
        )
        _progress(rows[-1])
        if number == 0:
            tickets = list(result.kept)

    rows.append(await _gate(plan, backend, workers, service, tickets, baselines))
    _progress(rows[-1])
    return rows


async def _gate(
    plan: Plan,
    backend: str,
    workers: int,
    service: server.Server,
    tickets: list[str],
    baselines: dict[int, load.Result],
) -> Row:
    base = service.base_url
    with httpx.Client(base_url=base, timeout=60) as client:
        moved = client.put("/api/v1/test/clock", json={"now": GATE_TIME})
        if moved.status_code != 200:
            return _failure(backend, workers, "gate", f"cannot move the clock: {moved.text}")
        # A token of the day before may have expired on the moved clock: sign in again.
        headers = {"Authorization": f"Bearer {admin_token(client)}"}
        probe = client.post(
            "/api/v1/gate/scan",
            json={"payload": "not-a-ticket", "gate": "east-1", "direction": "in"},
            headers=headers,
        )
        if probe.status_code in (404, 405):
            return _failure(backend, workers, "gate", "POST /api/v1/gate/scan is not there yet")
    calls = [
        load.Call(
            "POST",
            "/api/v1/gate/scan",
            json={"payload": ticket, "gate": f"east-{index % 4 + 1}", "direction": "in"},
            headers=headers,
        )
        for index, ticket in enumerate(tickets)
    ]
    result = await load.run(
        f"gate ×{plan.gate_concurrency}",
        base,
        calls,
        plan.gate_concurrency,
        time_limit=SCENARIO_TIME_LIMIT,
        classify=gate_verdict,
    )
    with httpx.Client(base_url=base, timeout=60) as client:
        inside = client.get("/api/v1/occupancy").json()["inside"]
    admitted = result.outcomes.get("admitted", 0)
    ok = admitted == len(tickets) == inside and result.server_errors == 0 and not result.timed_out
    proof = (
        f"admitted {admitted} of {len(tickets)} tickets = inside {inside}; "
        f"5xx {result.server_errors}"
    )
    return _row(
        backend,
        workers,
        f"gate {len(tickets):,} scans",
        result,
        baselines[plan.gate_concurrency],
        service,
        proof,
        ok,
    )


def _row(
    backend: str,
    workers: int,
    scenario: str,
    result: load.Result,
    baseline: load.Result | None,
    service: server.Server,
    proof: str,
    ok: bool,
) -> Row:
    p50, p99 = result.percentile(0.50), result.percentile(0.99)
    rate_ratio = p99_ratio = None
    if baseline is not None and baseline.rate:
        rate_ratio = result.rate / baseline.rate
        p99_ratio = p99 / baseline.percentile(0.99)
    if result.timed_out:
        ok = False
        proof += "; TIMED OUT"
    return Row(
        backend,
        workers,
        scenario,
        len(result.latencies),
        result.concurrency,
        result.rate,
        p50,
        p99,
        rate_ratio,
        p99_ratio,
        dict(result.outcomes.most_common()),
        [round(mib, 1) for mib in service.resident_mib()],
        proof,
        ok and result.server_errors == 0,
        {"load_average_1min": round(os.getloadavg()[0], 2)},
    )


def _progress(row: Row) -> None:
    print(
        f"  {row.database:8} {row.workers}w {row.scenario:24} {row.rate:8.0f}/s "
        f"p50 {row.p50_ms:7.1f} ms p99 {row.p99_ms:7.1f} ms  {row.proof}",
        file=sys.stderr,
        flush=True,
    )


def markdown(rows: list[Row]) -> str:
    def ratio(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    lines = [
        "| database | workers | scenario | requests × concurrency | req/s | p50 ms | p99 ms "
        "| req/s ÷ /health | p99 ÷ /health | answers | RSS per worker (MiB) | proof "
        "| machine load |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---|---|---|---:|",
    ]
    for row in rows:
        answers = ", ".join(f"{name}: {count}" for name, count in row.outcomes.items())
        rss = " / ".join(f"{mib:.0f}" for mib in row.rss_mib)
        mark = "" if row.ok else " **FAILED**"
        lines.append(
            f"| {row.database} | {row.workers} | {row.scenario} | {row.requests:,} × "
            f"{row.concurrency} | {row.rate:,.0f} | {row.p50_ms:.1f} | {row.p99_ms:.1f} | "
            f"{ratio(row.rate_ratio)} | {ratio(row.p99_ratio)} | {answers} | {rss} | "
            f"{row.proof}{mark} | {row.extra.get('load_average_1min', '–')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two workers only")
    parser.add_argument("--backends", default=None, help="sqlite,postgres")
    parser.add_argument("--workers", default=None, help="e.g. 1,2,4")
    parser.add_argument("--out", default="benchmarks/results", help="where to write results")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.backends:
        plan.backends = args.backends.split(",")
    if args.workers:
        plan.workers = [int(value) for value in args.workers.split(",")]

    started = time.monotonic()
    rows: list[Row] = []
    cluster = pgcluster.start() if "postgres" in plan.backends else None
    try:
        with tempfile.TemporaryDirectory(prefix="reservations-bench-") as scratch:
            for backend in plan.backends:
                for workers in plan.workers:
                    print(f"{backend}, {workers} worker(s):", file=sys.stderr, flush=True)
                    directory = Path(scratch) / f"{backend}-{workers}"
                    rows.extend(
                        asyncio.run(
                            measure_configuration(plan, backend, workers, directory, cluster)
                        )
                    )
    finally:
        if cluster is not None:
            cluster.stop()
    elapsed = time.monotonic() - started

    table = markdown(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.md").write_text(table)
    (out / "benchmark.json").write_text(
        json.dumps([row.__dict__ for row in rows], ensure_ascii=False, indent=2)
    )
    print(table)
    print(f"{os.cpu_count()} CPU cores; machine load is the 1-minute load average after each run.")
    failed = [row for row in rows if not row.ok]
    print(
        f"{len(rows)} measurements in {elapsed:.0f} s; "
        f"{'all checks passed' if not failed else f'{len(failed)} FAILED'}; "
        f"written to {out}/benchmark.md and benchmark.json",
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
