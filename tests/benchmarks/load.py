"""A bounded load generator: a fixed list of requests sent by a fixed number of concurrent
clients (aiohttp), within a total time limit; latency of each answer and what
each answer said."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    headers: dict[str, str] | None = None


@dataclass
class Result:
    name: str
    concurrency: int
    sent: int
    seconds: float
    latencies: list[float]
    outcomes: Counter[str]
    kept: list[Any] = field(default_factory=list)
    timed_out: bool = False

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Latency in milliseconds at this fraction of the answers."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * (len(ordered) - 1) + 0.5))] * 1000

    @property
    def server_errors(self) -> int:
        return sum(count for outcome, count in self.outcomes.items() if outcome.startswith("5"))


@dataclass(frozen=True)
class Answer:
    """A response as the scenarios read it."""

    status_code: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def describe(response: Answer) -> str:
    """``201``, or ``409 sold_out``: the status and, for errors, the stable code."""
    if response.status_code < 400:
        return str(response.status_code)
    try:
        return f"{response.status_code} {response.json()['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return str(response.status_code)


async def run(
    name: str,
    base_url: str,
    calls: list[Call],
    concurrency: int,
    *,
    time_limit: float,
    classify: Callable[[Answer], str] = describe,
    keep: Callable[[Answer], Any] | None = None,
) -> Result:
    result = Result(name, concurrency, 0, 0.0, [], Counter())
    pending = iter(range(len(calls)))
    # aiohttp rather than httpx: at these concurrencies httpx's own connection pool costs
    # more CPU than the server's /health, and the baseline would measure the client.
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60, connect=10)

    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as client:

        async def client_loop() -> None:
            for index in pending:
                call = calls[index]
                result.sent += 1
                started = time.perf_counter()
                try:
                    async with client.request(
                        call.method, call.path, json=call.json, headers=call.headers
                    ) as raw:
                        response = Answer(raw.status, await raw.read())
                except (aiohttp.ClientError, TimeoutError) as exc:
                    result.outcomes[f"transport {type(exc).__name__}"] += 1
                    continue
                result.latencies.append(time.perf_counter() - started)
                result.outcomes[classify(response)] += 1
                if keep is not None:
                    kept = keep(response)
                    if kept is not None:
                        result.kept.append(kept)

        started = time.perf_counter()
        tasks = [asyncio.create_task(client_loop()) for _ in range(concurrency)]
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=time_limit)
        except TimeoutError:
            result.timed_out = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        result.seconds = time.perf_counter() - started
    return result
