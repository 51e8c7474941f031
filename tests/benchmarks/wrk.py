"""wrk (the C load generator, Debian's ``wrk`` package) driven by ``load.lua``: a scenario
is a number of connections for a time, or until each thread has had its share of answers.

wrk costs the machine little, so on a small machine the figures measure the server rather
than the client. Its Lua script books a new valid visitor with every request, or scans
each ticket of a list once; at the end it prints what the answers said.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("load.lua")
THREADS = 2


@dataclass
class Result:
    name: str
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    outcomes: dict[str, int] = field(default_factory=dict)
    socket_errors: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_errors(self) -> int:
        return sum(count for kind, count in self.outcomes.items() if kind.startswith("5"))


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    name: str,
    base_url: str,
    arguments: list[str],
    *,
    connections: int,
    seconds: float,
    answers: int = 0,
    finished: Callable[[], bool] | None = None,
) -> Result:
    """Run ``load.lua`` with ``arguments`` for ``seconds``, or, with ``answers``, until the
    threads have had that many answers between them or ``finished()`` says the work is
    done (``seconds`` then bounds the run)."""
    threads = min(THREADS, connections)
    with tempfile.TemporaryDirectory(prefix="wrk-") as markers:
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(SCRIPT),
            base_url,
            "--",
            *arguments,
            str(answers),
            markers,
            str(threads),
        ]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if answers:
            # Each thread leaves a marker when it has had its share; wrk itself would wait
            # for the whole duration, so it is told to stop and report.
            deadline = time.monotonic() + seconds
            checked = 0.0
            while process.poll() is None and time.monotonic() < deadline:
                done = len(list(Path(markers).iterdir())) >= threads
                if not done and finished is not None and time.monotonic() - checked > 0.1:
                    checked = time.monotonic()
                    done = finished()
                if done:
                    process.send_signal(signal.SIGINT)
                    break
                time.sleep(0.02)
        output, _ = process.communicate(timeout=seconds + 60)
    text = output.decode(errors="replace")
    line = next((row for row in text.splitlines() if row.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {text[-2000:]}")
    found = json.loads(line.removeprefix("RESULT "))
    return Result(
        name=name,
        connections=connections,
        requests=int(found["requests"]),
        seconds=found["duration_us"] / 1e6,
        p50_ms=found["p50_us"] / 1000,
        p99_ms=found["p99_us"] / 1000,
        outcomes=dict(sorted(found["outcomes"].items(), key=lambda item: -item[1])),
        socket_errors=int(found["socket_errors"]),
    )
