"""A throwaway PostgreSQL server on a free loopback port, run as the ``postgres`` user.

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to the
``postgres`` system user. Used by the tests and by the benchmark script.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def _bin_dir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries not found; install the postgresql package (.ci/run does)"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class Cluster:
    directory: Path
    port: int
    bin_dir: Path
    options: str = ""

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAtc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def create_database(self, name: str, template: str | None = None) -> str:
        clause = f" TEMPLATE {template}" if template else ""
        self.psql(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def halt(self, *, check: bool = True) -> None:
        """Stop the server as a crash would (immediate mode), keeping its data."""
        subprocess.run(
            _as_owner(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.directory / "data"),
                    "-m",
                    "immediate",
                    "stop",
                ]
            ),
            capture_output=True,
            check=check,
        )

    def resume(self) -> None:
        """Start the server again on its data, as after a restart."""
        _pg_ctl_start(self.bin_dir, self.directory, self.options)

    def stop(self) -> None:
        self.halt(check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def start(max_connections: int = 300, *, durable_commits: bool = False) -> Cluster:
    """A new cluster. ``durable_commits``: a commit is answered only once it is in the
    write-ahead log, so an immediate stop (a crash) loses no committed transaction."""
    bin_dir = _bin_dir()
    directory = Path(tempfile.mkdtemp(prefix="reservations-pg-"))
    os.chmod(directory, 0o755)
    data = directory / "data"
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={directory} "
        f"-c max_connections={max_connections} -c fsync=off "
        f"-c synchronous_commit={'on' if durable_commits else 'off'} "
        "-c full_page_writes=off -c shared_buffers=128MB"
    )
    _pg_ctl_start(bin_dir, directory, options)
    cluster = Cluster(directory, port, bin_dir, options)
    deadline = time.monotonic() + 30
    while True:
        try:
            cluster.psql("SELECT 1")
            return cluster
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _pg_ctl_start(bin_dir: Path, directory: Path, options: str) -> None:
    data = directory / "data"
    subprocess.run(
        _as_owner(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(directory / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
