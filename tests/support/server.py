"""``reservations serve`` as real worker processes on a free loopback port, for the tests
and the benchmark, and museum rule files with some values changed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support import pgcluster

REPO = Path(__file__).resolve().parents[2]

# Under pytest: whether the running test may start the service as processes (it is marked
# ``server``); None outside a test (the benchmarks).
_processes_allowed: bool | None = None


def allow_processes(allowed: bool | None) -> None:
    global _processes_allowed
    _processes_allowed = allowed


def to_toml(document: dict[str, Any]) -> str:
    """The small TOML subset museum.toml uses: tables, arrays of tables, plain values."""

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int):
            return str(item)
        if isinstance(item, list):
            return "[" + ", ".join(value(element) for element in item) + "]"
        return '"' + str(item) + '"'

    lines: list[str] = []
    for key, item in document.items():
        if isinstance(item, dict):
            lines.append(f"[{key}]")
            lines.extend(f"{k} = {value(v)}" for k, v in item.items())
        elif isinstance(item, list):
            for table in item:
                lines.append(f"[[{key}]]")
                lines.extend(f"{k} = {value(v)}" for k, v in table.items())
        else:
            lines.insert(0, f"{key} = {value(item)}")
    return "\n".join(lines) + "\n"


def rules_file(directory: Path, changes: dict[str, dict[str, Any]]) -> Path:
    """config/museum.toml with some values changed, written into ``directory``."""
    document = tomllib.loads((REPO / "config" / "museum.toml").read_text())
    for section, values in changes.items():
        document.setdefault(section, {}).update(values)
    path = directory / "museum.toml"
    path.write_text(to_toml(document))
    return path


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path
    workers: int
    # Where the workers keep their metrics: each writes its own file there once it serves.
    metrics_dir: Path | None = None

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=60, **kwargs)

    def worker_pids(self) -> list[int]:
        """The processes that answer requests: the children, or the server itself alone."""
        children = _children(self.process.pid)
        workers = [pid for pid in children if "resource_tracker" not in _cmdline(pid)]
        return workers if self.workers > 1 and workers else [self.process.pid]

    def serving_workers(self) -> list[int]:
        """The workers that finished starting and serve requests (each announced itself in
        the metrics directory)."""
        if self.metrics_dir is None:
            return self.worker_pids()
        return [
            pid
            for pid in self.worker_pids()
            if (self.metrics_dir / f"gauge_livesum_{pid}.db").exists()
        ]

    def wait_until_serving(self, timeout: float = 120) -> None:
        """Until every worker serves (after a start, or after one was restarted)."""
        deadline = time.monotonic() + timeout
        while len(self.serving_workers()) < self.workers:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def resident_mib(self) -> list[float]:
        return [_rss_mib(pid) for pid in self.worker_pids()]

    def stop(self) -> str:
        """Stop the server and its workers (never leaving orphans); its log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in _children(self.process.pid):
                    _kill(pid)
                self.process.kill()
                self.process.wait()
        return self.log.read_text(errors="replace")


def launch(
    env: dict[str, str],
    directory: Path,
    workers: int,
    timeout: float = 120,
    *,
    access_log: bool = False,
    log_level: str = "warning",
) -> Server:
    """Start the service with exactly these RESERVATIONS_ settings; wait for every worker."""
    if _processes_allowed is False:
        raise RuntimeError(
            "this test starts the service as real processes: mark it pytest.mark.server, "
            "so that -m 'not server' leaves it out and pytest -n runs it with the others"
        )
    port = pgcluster.free_port()
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RESERVATIONS_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    full_env.update(env)
    log = directory / f"server-{port}.log"
    command = [sys.executable, "-m", "reservations.cli", "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", log_level]
    if not access_log:
        command.append("--no-access-log")
    process = subprocess.Popen(
        command, env=full_env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=REPO
    )
    data_dir = Path(env.get("RESERVATIONS_DATA_DIR", REPO / "data"))
    server = Server(process, f"http://127.0.0.1:{port}", log, workers, data_dir / "metrics")
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.base_url}/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    # Every worker up, not only the first to answer.
    server.wait_until_serving(max(1.0, deadline - time.monotonic()))
    return server


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent pid is the 2nd field after the parenthesised command name.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
