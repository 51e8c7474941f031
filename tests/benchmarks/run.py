"""The release rush and the gate, measured against a floor: ``python -m tests.benchmarks.run``.

For SQLite with one and with two worker processes and for PostgreSQL with two (a throwaway
server), it starts the floor (``tests/benchmarks/floor.py``: the same booking work written
plainly in the same stack) and then the service itself (rate limits off), each with that
many uvicorn workers on the loopback address and a database of its own, and drives them
with wrk (``tests/benchmarks/load.lua``), 64 connections. The scenarios:

- ``/health``: the baseline of this machine and this server, in the same run;
- booking, all succeed: every request books one new, valid visitor on a day with room;
- the rush: 3,000 visitors for a day of 1,000 places, then "sold out";
- against the service alone, the calendar: ``GET /api/v1/availability`` for 7 days;
- against the service alone, the gate: every ticket of the booking scenario scanned in
  once, on its day.

Reported: requests per second, p50 and p99 latency, the rate as a ratio to the same
server's ``/health``, to the floor's ``/health`` and to the floor's booking, what the
answers said, CPU time and resident memory of the workers, and the proof read from the
database afterwards, for the floor too: places sold = bookings stored = the counter (= the
capacity in the rush), one admission per ticket (admitted = tickets = people inside), no
5xx answer. Writes ``benchmark.md`` and ``benchmark.json`` (``--out``); exits non-zero
when a proof fails. ``--profile DIR`` records py-spy profiles of both servers' workers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from tests.benchmarks import floor, profiles, server, wrk
from tests.support import pgcluster
from tests.support.server import Server

BOOKING_DAY = date(2026, 3, 10)  # a Tuesday; the benchmark's clock is the Monday before
RUSH_DAY = date(2026, 3, 11)
RUSH_PLACES = 1000
RUSH_VISITORS = 3000
SLOTS = "0900,1100,1300,1500"
GATE_TIME = "2026-03-10T12:00:00+08:00"
CONNECTIONS = 64
CONFIGURATIONS = [("sqlite", 1), ("sqlite", 2), ("postgres", 2)]


@dataclass
class Row:
    # "service", or "floor": the same booking work written plainly (tests/benchmarks/floor.py)
    server: str
    database: str
    workers: int
    # health, booking, rush, calendar, gate (what the ratios are computed from), or log
    key: str
    scenario: str
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    # The rate as a ratio to the same server's /health, in the same run.
    ratio: float | None
    outcomes: dict[str, int]
    proof: str
    ok: bool
    # CPU time the worker processes spent per answer: on a shared machine a steadier
    # measure of the service's cost than the rates.
    cpu_ms: float = 0.0
    # The part of that CPU time spent in the kernel (sockets, locks, thread wake-ups).
    kernel_share: float = 0.0
    rss_mib: list[float] = field(default_factory=list)
    # The rate as a ratio to the floor's /health and to the floor's booking, same
    # configuration, same run (None for /health against the floor's booking).
    to_floor_health: float | None = None
    to_floor_booking: float | None = None


def _token(client: httpx.Client) -> str:
    answer = client.post(
        "/api/v1/auth/token",
        data={"username": server.ADMIN_USERNAME, "password": server.ADMIN_PASSWORD},
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


# (confirmed bookings, the day's counter), in the service's tables and in the floor's.
SERVICE_SOLD = (
    "SELECT (SELECT count(*) FROM booking WHERE day = :day AND status = 'confirmed'), "
    "(SELECT booked FROM capacity_counter WHERE day = :day "
    "AND channel = 'individual' AND slot_id = '*')"
)
FLOOR_SOLD = (
    "SELECT (SELECT count(*) FROM booking WHERE day = :day AND status = 'confirmed'), "
    "(SELECT booked FROM day_counter WHERE day = :day)"
)


class Facts:
    """What the database says after a scenario: the proof does not trust the answers."""

    def __init__(self, url: str, sold_sql: str = SERVICE_SOLD) -> None:
        self.engine = create_engine(url)
        self.sold_sql = sold_sql

    def now(self, sql: str, **parameters: Any) -> tuple[int, ...]:
        with self.engine.connect() as connection:
            return tuple(int(v or 0) for v in connection.execute(text(sql), parameters).one())

    def settled(self, sql: str, **parameters: Any) -> tuple[int, ...]:
        """A row of counts, read again until two reads agree: requests that wrk gave up on
        at the end of a run may still be finishing in the server."""
        previous: tuple[int, ...] | None = None
        for _ in range(50):
            row = self.now(sql, **parameters)
            if row == previous:
                return row
            previous = row
            time.sleep(0.2)
        raise RuntimeError("the database did not settle")

    def sold(self, day: date) -> tuple[int, int]:
        """(confirmed bookings, the day's counter), read together."""
        stored, counted = self.settled(self.sold_sql, day=day)
        return stored, counted

    def payloads(self, day: date) -> list[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT qr_payload FROM ticket WHERE day = :day ORDER BY id"), {"day": day}
            )
            return [row[0] for row in rows]

    def unused(self, day: date) -> list[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT qr_payload FROM ticket WHERE day = :day AND use_state = 'unused'"),
                {"day": day},
            )
            return [row[0] for row in rows]

    def admitted(self, day: date, *, settle: bool = True) -> tuple[int, ...]:
        """(tickets inside, scans recorded as admitted, people inside per the counter)"""
        return (self.settled if settle else self.now)(
            "SELECT (SELECT count(*) FROM ticket WHERE day = :day AND use_state = 'inside'), "
            "(SELECT count(*) FROM gate_scan WHERE verdict = 'admitted'), "
            "(SELECT inside FROM occupancy_counter WHERE day = :day)",
            day=day,
        )

    def close(self) -> None:
        self.engine.dispose()


def measure(
    backend: str,
    workers: int,
    seconds: float,
    scratch: Path,
    run: int,
    profile: Path | None = None,
) -> list[Row]:
    """The floor, then the service, on the same kind of database (a database each) with the
    same number of worker processes."""
    cluster = pgcluster.start() if backend == "postgres" else None
    directory = scratch / f"{backend}-{workers}"
    try:
        rows: list[Row] = []
        for name in ("floor", "service"):
            url = None
            if cluster is not None:
                url = cluster.create_database(f"bench_{name}_{uuid.uuid4().hex[:10]}")
            rows.extend(_measure_one(name, backend, workers, seconds, directory, url, run, profile))
        relate(rows)
        return rows
    finally:
        if cluster is not None:
            cluster.stop()


def _measure_one(
    name: str,
    backend: str,
    workers: int,
    seconds: float,
    directory: Path,
    url: str | None,
    run: int,
    profile: Path | None,
) -> list[Row]:
    if name == "floor":
        home = directory / "floor"
        capacities = {BOOKING_DAY: 1_000_000, RUSH_DAY: RUSH_PLACES}
        started = floor.start(home, url, workers, server.FAKE_NOW, capacities)
        facts = Facts(url or f"sqlite:///{home / 'floor.sqlite3'}", FLOOR_SOLD)
    else:
        started = server.start(directory, url, workers)
        facts = Facts(url or f"sqlite:///{directory / 'data' / 'reservations.sqlite3'}")
    try:
        scenarios = _Scenarios(name, started, facts, backend, workers, seconds, run, profile)
        if name == "floor":
            scenarios.health()
            scenarios.booking()
            scenarios.rush()
        else:
            scenarios.service()
        rows = scenarios.rows
        rss = started.resident_mib()
        for row in rows:
            row.rss_mib = [round(mib, 1) for mib in rss]
    finally:
        log = started.stop()
        facts.close()
    if "Traceback" in log:
        failed = Row(name, backend, workers, "log", "server log", 0, 0, 0, 0, None, {}, "", False)
        failed.proof = "a traceback"
        rows.append(failed)
    return rows


def relate(rows: list[Row]) -> None:
    """Each row's rate as a ratio to the floor's /health and booking of its configuration."""
    floors = {
        (row.database, row.workers, row.key): row.rate
        for row in rows
        if row.server == "floor" and row.key in ("health", "booking")
    }
    for row in rows:
        if row.key == "log":
            continue
        health = floors.get((row.database, row.workers, "health"))
        booking = floors.get((row.database, row.workers, "booking"))
        row.to_floor_health = round(row.rate / health, 3) if health else None
        if row.key != "health":
            row.to_floor_booking = round(row.rate / booking, 3) if booking else None


class _Scenarios:
    """The scenarios against one server (the service or the floor), each measured with the
    workers' CPU time and, with --profile, py-spy."""

    def __init__(
        self,
        name: str,
        started: Server,
        facts: Facts,
        backend: str,
        workers: int,
        seconds: float,
        run: int,
        profile: Path | None,
    ) -> None:
        self.name, self.base, self.facts = name, started.base_url, facts
        self.backend, self.workers, self.seconds, self.run = backend, workers, seconds, run
        self.rows: list[Row] = []
        self.health_rate = 0.0
        self.cpu = _Cpu(started)
        self.profiler = _Profiler(profile, started.worker_pids(), f"{name}-{backend}-x{workers}")

    def begin(self, scenario: str) -> None:
        self.cpu.lap()
        self.profiler.start(scenario)

    def row(self, result: wrk.Result, key: str, scenario: str, proof: str, ok: bool) -> Row:
        self.profiler.stop()
        ratio = result.rate / self.health_rate if self.rows and self.health_rate else None
        spent, in_kernel = self.cpu.lap()
        cpu_ms = spent * 1000 / result.requests if result.requests else 0.0
        made = Row(
            self.name,
            self.backend,
            self.workers,
            key,
            scenario,
            result.requests,
            result.rate,
            result.p50_ms,
            result.p99_ms,
            ratio,
            result.outcomes,
            f"{proof}; 5xx {result.server_errors}"
            + (f"; socket errors {result.socket_errors}" if result.socket_errors else ""),
            ok and result.server_errors == 0 and result.socket_errors == 0,
            round(cpu_ms, 2),
            kernel_share=round(in_kernel / spent, 2) if spent else 0.0,
        )
        self.rows.append(made)
        _progress(made)
        return made

    def health(self) -> None:
        self.begin("health")
        health = wrk.run(
            "health", self.base, ["get", "/health"], connections=CONNECTIONS, seconds=self.seconds
        )
        self.health_rate = health.rate
        self.row(health, "health", "/health", "-", True)

    def booking(self) -> None:
        self.begin("booking")
        booking = wrk.run(
            "booking",
            self.base,
            ["book", BOOKING_DAY.isoformat(), SLOTS, str(self.run * 4)],
            connections=CONNECTIONS,
            seconds=self.seconds,
        )
        created = booking.outcomes.get("201", 0)
        stored, counted = self.facts.sold(BOOKING_DAY)
        # wrk ends the run with requests in flight: their bookings exist, their answers are
        # lost.
        self.row(
            booking,
            "booking",
            "booking (all succeed)",
            f"201 {created}, stored {stored} = counted {counted} "
            f"({stored - created} answers cut off at the end)",
            created == booking.requests
            and stored == counted
            and 0 <= stored - created <= CONNECTIONS,
        )

    def rush(self) -> None:
        self.begin("rush")
        rush = wrk.run(
            "rush",
            self.base,
            ["book", RUSH_DAY.isoformat(), SLOTS, str(self.run * 4 + 1)],
            connections=CONNECTIONS,
            seconds=max(120.0, self.seconds),
            answers=RUSH_VISITORS,
        )
        sold = rush.outcomes.get("201", 0)
        stored, counted = self.facts.sold(RUSH_DAY)
        refused = rush.outcomes.get("409 sold_out", 0)
        self.row(
            rush,
            "rush",
            f"rush {rush.requests:,} visitors for {RUSH_PLACES:,} places",
            f"sold {sold} = stored {stored} = counted {counted} = capacity {RUSH_PLACES}; "
            f"{refused} sold out",
            sold == stored == counted == RUSH_PLACES and sold + refused == rush.requests,
        )

    def service(self) -> None:
        """Every scenario, against the service."""
        base = self.base
        with httpx.Client(base_url=base, timeout=60) as client:
            headers = {"Authorization": f"Bearer {_token(client)}"}
            room = client.put(
                f"/api/v1/admin/days/{BOOKING_DAY}",
                json={"individual_quota": 1_000_000},
                headers=headers,
            )
            room.raise_for_status()

        self.health()
        self.booking()
        self.rush()

        last = BOOKING_DAY + timedelta(days=6)
        self.begin("calendar")
        calendar = wrk.run(
            "calendar",
            base,
            ["get", f"/api/v1/availability?start={BOOKING_DAY}&end={last}"],
            connections=CONNECTIONS,
            seconds=self.seconds,
        )
        self.row(
            calendar,
            "calendar",
            "calendar, 7 days",
            "-",
            calendar.outcomes.get("200", 0) == calendar.requests,
        )

        facts = self.facts
        with httpx.Client(base_url=base, timeout=60) as client:
            client.put("/api/v1/test/clock", json={"now": GATE_TIME}).raise_for_status()
            token = _token(client)
        payloads = facts.payloads(BOOKING_DAY)
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as bodies:
            for index, payload in enumerate(payloads):
                body = {"payload": payload, "gate": f"east-{index % 4 + 1}", "direction": "in"}
                bodies.write(json.dumps(body) + "\n")
        progress = _Progress(lambda: facts.admitted(BOOKING_DAY, settle=False)[1], len(payloads))
        try:
            self.begin("gate")
            started = time.monotonic()
            gate = wrk.run(
                "gate",
                base,
                ["scan", bodies.name, token],
                connections=CONNECTIONS,
                seconds=max(120.0, self.seconds),
                answers=len(payloads),
                finished=progress,
            )
        finally:
            Path(bodies.name).unlink()
        # Fillers (a few /health requests while the last scans are answered) are no scans,
        # and a scan that wrk lost must not count its wait as time spent scanning.
        gate.requests -= gate.outcomes.get("filler (/health)", 0)
        if progress.stalled:
            gate.seconds = min(gate.seconds, progress.since - started)
        # wrk may lose the odd request (a connection it opened again): scan what is left
        # here, so that the proof covers every ticket.
        late = _scan_unused(base, token, facts.unused(BOOKING_DAY))
        inside, scans, people = facts.admitted(BOOKING_DAY)
        twice = gate.outcomes.get("refused already_used", 0)
        self.row(
            gate,
            "gate",
            f"gate scan, {len(payloads):,} tickets",
            f"admitted {scans} = tickets {len(payloads)} = inside {inside} = people {people}; "
            f"{twice} second scans refused; {late} scanned after wrk",
            scans == len(payloads) == inside == people,
        )


class _Profiler:
    """``--profile DIR``: py-spy samples of the workers while a scenario runs, only while
    they hold the interpreter lock (so: where their CPU goes), as collapsed stacks."""

    def __init__(self, directory: Path | None, pids: list[int], label: str) -> None:
        self.directory, self.pids, self.label = directory, pids, label
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, scenario: str) -> None:
        if self.directory is None:
            return
        tool = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.directory.mkdir(parents=True, exist_ok=True)
        for pid in self.pids:
            out = self.directory / f"{self.label}-{scenario}-{pid}.txt"
            command = [tool, "record", "--gil", "--nonblocking", "-r", str(profiles.RATE)]
            command += ["-f", "raw"]
            command += ["-p", str(pid), "-o", str(out)]
            self.running.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )

    def stop(self) -> None:
        for process in self.running:
            process.send_signal(signal.SIGINT)
        for process in self.running:
            process.wait(timeout=60)
        self.running = []


class _Cpu:
    """CPU seconds (user and system) the service's worker processes used between laps."""

    def __init__(self, service: Server) -> None:
        self.pids = service.worker_pids()
        self.last = self._total()

    def _total(self) -> tuple[float, float]:
        user = system = 0
        for pid in self.pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        ticks = os.sysconf("SC_CLK_TCK")
        return user / ticks, system / ticks

    def lap(self) -> tuple[float, float]:
        """CPU seconds since the last lap: (user and system, system alone)."""
        now = self._total()
        user, system = now[0] - self.last[0], now[1] - self.last[1]
        self.last = now
        return user + system, system


class _Progress:
    """Done when ``count()`` reached ``goal``, or stopped growing for a second near it."""

    def __init__(self, count: Any, goal: int) -> None:
        self.count, self.goal = count, goal
        self.last, self.since = -1, time.monotonic()
        self.stalled = False

    def __call__(self) -> bool:
        now = self.count()
        if now >= self.goal:
            return True
        if now != self.last:
            self.last, self.since = now, time.monotonic()
            return False
        self.stalled = now >= self.goal * 0.99 and time.monotonic() - self.since > 1.0
        return self.stalled


def _scan_unused(base: str, token: str, payloads: list[str]) -> int:
    with httpx.Client(base_url=base, timeout=60) as client:
        for payload in payloads:
            answer = client.post(
                "/api/v1/gate/scan",
                json={"payload": payload, "gate": "east-1", "direction": "in"},
                headers={"Authorization": f"Bearer {token}"},
            )
            answer.raise_for_status()
    return len(payloads)


def _ratio(value: float | None, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.3f}{suffix}"


def _progress(row: Row) -> None:
    print(
        f"  {row.server:7} {row.database:8} x{row.workers} {row.scenario:40} "
        f"{row.rate:8.0f}/s {_ratio(row.ratio, 'x'):>7} "
        f"p50 {row.p50_ms:7.1f} ms p99 {row.p99_ms:7.1f} ms cpu {row.cpu_ms:5.2f} ms "
        f"({row.kernel_share:.0%} sys)  "
        f"{row.proof}",
        file=sys.stderr,
        flush=True,
    )


DATABASES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def markdown(rows: list[Row]) -> str:
    lines = [
        "| server | database | scenario | req/s | ÷ its /health | ÷ floor /health "
        "| ÷ floor booking | p50 ms | p99 ms | CPU ms per answer | answers | proof "
        "| RSS per worker (MiB) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for row in rows:
        answers = ", ".join(f"{kind}: {count:,}" for kind, count in row.outcomes.items())
        mark = "" if row.ok else " **FAILED**"
        rss = " / ".join(f"{mib:.0f}" for mib in row.rss_mib)
        lines.append(
            f"| {row.server} | {DATABASES.get(row.database, row.database)} ×{row.workers} "
            f"| {row.scenario} | {row.rate:,.0f} | {_ratio(row.ratio)} "
            f"| {_ratio(row.to_floor_health)} | {_ratio(row.to_floor_booking)} "
            f"| {row.p50_ms:.1f} | {row.p99_ms:.1f} | {row.cpu_ms:.2f} | {answers} | "
            f"{row.proof}{mark} | {rss} |"
        )
    return "\n".join(lines) + "\n"


def summary(rows: list[Row]) -> list[str]:
    """The service against the floor per configuration, and what a second SQLite worker
    adds, as measured in this run."""
    lines = []
    by_key = {(row.server, row.database, row.workers, row.key): row for row in rows}
    configurations = dict.fromkeys((row.database, row.workers) for row in rows)
    for database, workers in configurations:

        def get(server: str, key: str, database: str = database, workers: int = workers) -> Row:
            return by_key.get((server, database, workers, key)) or _MISSING

        health, booking = get("service", "health"), get("service", "booking")
        plain = get("floor", "booking")
        parts = [
            f"booking {_ratio(booking.to_floor_booking, 'x')} the floor's "
            f"(p99 {booking.p99_ms:.0f} ms, the floor's {plain.p99_ms:.0f} ms; "
            f"CPU per booking {booking.cpu_ms:.2f} ms, the floor's {plain.cpu_ms:.2f} ms)",
            f"/health {_ratio(health.to_floor_health, 'x')} the floor's",
            f"rush {_ratio(get('service', 'rush').to_floor_health, 'x')} the floor's /health",
        ]
        calendar, gate = get("service", "calendar"), get("service", "gate")
        if calendar is not _MISSING:
            parts.append(f"calendar {_ratio(calendar.ratio, 'x')} its own /health")
        if gate is not _MISSING:
            parts.append(f"gate scan {_ratio(gate.to_floor_booking, 'x')} the floor's booking")
        lines.append(f"{DATABASES.get(database, database)} ×{workers}: " + "; ".join(parts) + ".")
    for name in ("service", "floor"):
        rates = {
            row.workers: row.rate
            for row in rows
            if row.server == name and row.database == "sqlite" and row.key == "booking"
        }
        if 1 in rates and 2 in rates and rates[1]:
            lines.append(
                f"SQLite, booking, the {name}: two workers book {rates[2] / rates[1]:.2f}x "
                "what one books."
            )
    return lines


_MISSING = Row("", "", 0, "", "", 0, 0.0, 0.0, 0.0, None, {}, "", False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5 s per scenario instead of 15 s")
    parser.add_argument("--seconds", type=float, default=None, help="per timed scenario")
    parser.add_argument(
        "--only", default=None, help="some configurations, e.g. sqlite:1,postgres:2"
    )
    parser.add_argument("--out", default="benchmarks/results", help="where to write results")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="with py-spy installed (the bench extra): an empty directory for py-spy profiles "
        "of the workers of both servers per scenario; profile.md sums them up by layer",
    )
    args = parser.parse_args(argv)
    if not wrk.available():
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    seconds = args.seconds or (5.0 if args.quick else 15.0)
    configurations = CONFIGURATIONS
    if args.only:
        wanted = {tuple(item.split(":")) for item in args.only.split(",")}
        configurations = [(b, w) for b, w in CONFIGURATIONS if (b, str(w)) in wanted]

    started = time.monotonic()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="reservations-bench-") as scratch:
        for run, (backend, workers) in enumerate(configurations):
            print(f"{backend}, {workers} worker(s):", file=sys.stderr, flush=True)
            rows.extend(measure(backend, workers, seconds, Path(scratch), run, args.profile))
    elapsed = time.monotonic() - started

    table = markdown(rows)
    notes = "\n".join(summary(rows))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.md").write_text(table + (f"\n{notes}\n" if notes else ""))
    (out / "benchmark.json").write_text(
        json.dumps([asdict(row) for row in rows], ensure_ascii=False, indent=2)
    )
    print(table)
    if notes:
        print(notes)
    if args.profile is not None:
        answers = {(row.server, row.database, row.workers, row.key): row.requests for row in rows}
        layers = profiles.summarise(args.profile, answers)
        (out / "profile.md").write_text(layers)
        print(f"\nInterpreter time by layer (py-spy, {args.profile}):\n\n{layers}")
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPU cores, load average {load:.1f} at the end, wrk on this machine.")
    failed = [row for row in rows if not row.ok]
    print(
        f"{len(rows)} measurements in {elapsed:.0f} s; "
        f"{'all proofs hold' if not failed else f'{len(failed)} FAILED'}; "
        f"written to {out}/benchmark.md and benchmark.json"
        + (" and profile.md" if args.profile is not None else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
