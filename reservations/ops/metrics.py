"""Metrics in the Prometheus text format, one truth for every worker of a server.

``reservations serve`` runs several worker processes; ``prometheus_client``'s multiprocess
mode lets each of them write its counters to memory-mapped files in one directory
(``PROMETHEUS_MULTIPROC_DIR``, by default ``metrics/`` in the data directory), which the
parent empties before the workers start and which any worker adds up when scraped.
``prometheus_client`` chooses that mode when it is first imported, so it is imported here
only when a metric is first used, after the parent has named the directory.

What is counted where it happens (each worker, added up): requests by route *template*
(never the raw path, which carries references and tokens) and status, with latency
histograms; bookings by outcome; gate scans by verdict; job runs by outcome; rate-limit and
challenge refusals. What is a state is read from the database when scraped, so every
worker and every server answers the same: people inside and the live limit, places left
today and on the newest day released, each job's last run, the last recount's drift.

No label carries personal data: labels are route templates, methods, status codes,
channels, slot ids, verdicts, outcomes, job names and error codes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reservations import clock
from reservations.settings import Settings

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram
    from prometheus_client.registry import Collector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR = "metrics"
# Latency buckets in seconds: the booking rush lives between 10 ms and a few seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def prepare_directory(settings: Settings) -> Path:
    """Name and empty the workers' metrics directory (``reservations serve``, before the
    workers start). Counters begin again at zero, which Prometheus reads as a restart."""
    configured = os.environ.get(MULTIPROCESS_ENV)
    directory = Path(configured) if configured else settings.data_dir / METRICS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[MULTIPROCESS_ENV] = str(directory)
    return directory


def multiprocess_directory() -> Path | None:
    configured = os.environ.get(MULTIPROCESS_ENV)
    return Path(configured) if configured else None


class Instruments:
    """The metrics this process updates (built on first use, see the module)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.requests: Counter = Counter(
            "reservations_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
        )
        self.latency: Histogram = Histogram(
            "reservations_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
        )
        self.bookings: Counter = Counter(
            "reservations_bookings",
            "Booking attempts that reached the placement, by channel and outcome "
            "(confirmed, pending, replayed, sold_out, refused) and the refusal's error code.",
            ("channel", "outcome", "code"),
        )
        self.scans: Counter = Counter(
            "reservations_gate_scans",
            "Gate scans by direction, verdict and source (online, offline upload).",
            ("direction", "verdict", "source"),
        )
        self.job_runs: Counter = Counter(
            "reservations_job_runs",
            "Job runs in this server, by job and outcome.",
            ("job", "outcome"),
        )
        self.refusals: Counter = Counter(
            "reservations_protection_refusals",
            "Requests refused by the protection, by scope (booking, lookup, login) and kind "
            "(rate_limited, challenge_required).",
            ("scope", "refusal"),
        )
        self.workers: Gauge = Gauge(
            "reservations_worker_processes",
            "Worker processes serving requests.",
            multiprocess_mode="livesum",
        )
        # Label children by their values: labels() takes a lock and builds a key each time.
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)


_instruments: Instruments | None = None
_instruments_lock = threading.Lock()


def instruments() -> Instruments:
    global _instruments
    if _instruments is None:
        with _instruments_lock:
            if _instruments is None:
                _instruments = Instruments()
    return _instruments


# --- what services count ------------------------------------------------------------------


def booking(channel: str, outcome: str, code: str = "") -> None:
    instruments().bookings.labels(channel, outcome, code).inc()


def scan(direction: str, verdict: str, source: str = "online") -> None:
    instruments().scans.labels(direction, verdict, source).inc()


def job_run(job: str, outcome: str) -> None:
    instruments().job_runs.labels(job, outcome).inc()


def refusal(scope: str, kind: str) -> None:
    instruments().refusals.labels(scope, kind).inc()


def worker_started() -> None:
    """This process serves requests (a live gauge: it disappears with the process)."""
    instruments().workers.set(1)


# --- the requests ---------------------------------------------------------------------------


def route_template(scope: Scope, prefixes: tuple[str, ...] = ()) -> str:
    """The matched route's template (``/api/v1/bookings/{reference}``), never the path.

    A route included under a router's prefix knows its template without the prefix; the
    prefix is one of ``prefixes`` (fixed strings of the application, never the client's)
    when the request's path starts with it and the route matches what follows.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str) or not template:
        return UNMATCHED
    pattern = getattr(route, "path_regex", None)
    path = scope.get("path", "")
    if pattern is not None and not pattern.match(path):
        for prefix in prefixes:
            if path.startswith(prefix) and pattern.match(path[len(prefix) :]):
                return prefix + template
    return template


class RequestMetrics:
    """Pure ASGI: counts each HTTP request by route template and status, and its latency."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = clock.monotonic()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = scope["method"]
            instruments().observe_request(
                method if method in _METHODS else "other",
                route_template(scope, self.prefixes),
                status,
                clock.monotonic() - started,
            )


# --- the scrape -----------------------------------------------------------------------------


def mark_dead_workers(directory: Path) -> None:
    """Forget the live gauges of worker processes that are gone (killed, restarted); their
    counters stay, so totals never go backwards."""
    from prometheus_client import multiprocess

    pids: set[int] = set()
    for entry in directory.glob("gauge_live*_*.db"):
        number = entry.stem.rpartition("_")[2]
        if number.isdigit():
            pids.add(int(number))
    for pid in pids:
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Sources:
    def __init__(self, *sources: Any) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Any]:
        for source in self._sources:
            yield from source.collect()


def exposition(state: Collector) -> tuple[bytes, str]:
    """The text every worker would answer alike: the workers' counters added up, and the
    state read from the database now."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    instruments()  # every metric is listed, even before its first event
    directory = multiprocess_directory()
    if directory is None:
        return generate_latest(_Sources(REGISTRY, state)), CONTENT_TYPE_LATEST
    from prometheus_client import multiprocess

    mark_dead_workers(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(directory))  # type: ignore[no-untyped-call]
    registry.register(state)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class StateCollector:
    """The gauges read from the database at each scrape (``reservations.ops.state``)."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        from reservations.ops import state as ops_state

        state = ops_state.read()
        yield GaugeMetricFamily(
            "reservations_people_inside", "People inside the museum now.", value=state.inside
        )
        yield GaugeMetricFamily(
            "reservations_people_inside_limit",
            "The live limit of people inside at once.",
            value=state.limit,
        )
        places = GaugeMetricFamily(
            "reservations_places_left",
            "Places left today and on the newest day released for booking (which=release), "
            "per channel and slot (slot=all: the whole day); 0 on a closed day.",
            labels=("which", "date", "channel", "slot"),
        )
        for entry in state.places:
            places.add_metric(
                (entry.which, entry.day.isoformat(), entry.channel, entry.slot), entry.left
            )
        yield places
        runs = GaugeMetricFamily(
            "reservations_job_last_run_timestamp_seconds",
            "When each job's last run of each outcome finished (Unix time), on any server.",
            labels=("job", "outcome"),
        )
        for (job, outcome), finished in sorted(state.last_runs.items()):
            runs.add_metric((job, outcome), finished.timestamp())
        yield runs
        if state.drift is not None:
            yield GaugeMetricFamily(
                "reservations_counter_drift",
                "Counters the newest recount (job check-counters) found different from the "
                "bookings, tickets and scans they count.",
                value=state.drift,
            )


def allowed_networks(text: str | None) -> tuple[IPv4Network | IPv6Network, ...]:
    """``RESERVATIONS_METRICS_ALLOW`` as networks (an address is a network of one)."""
    if not text:
        return ()
    return tuple(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def address_allowed(address: str | None, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    if not address or not networks:
        return False
    try:
        found = ip_address(address)
    except ValueError:
        return False
    return any(found.version == network.version and found in network for network in networks)
