"""``reservations keys``: rotating and retiring signing keys while the service runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reservations.bootstrap import reset_process_state
from reservations.cli import main
from reservations.tickets.signing import Keyring
from tests.conftest import REPO, Service, set_clock, start_server, stop_server
from tests.gate.factories import OPENING, book, scan, staff_headers
from tests.support.waiting import wait_until


class Keys:
    """``reservations keys ...`` run in this process against the service's data (quick),
    with what it printed and its exit status."""

    def __init__(self, service: Service, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        self.service, self.monkeypatch, self.capsys = service, monkeypatch, capsys

    def __call__(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        for key in [k for k in os.environ if k.startswith("RESERVATIONS_")]:
            self.monkeypatch.delenv(key)
        for key, value in self.service.env.items():
            self.monkeypatch.setenv(key, value)
        reset_process_state()
        self.capsys.readouterr()
        try:
            status = main(["keys", *arguments])
        finally:
            reset_process_state()
        return subprocess.CompletedProcess(arguments, status, self.capsys.readouterr().out, "")


def keys_command(service: Service, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The installed command itself, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESERVATIONS_")}
    env.update(service.env)
    return subprocess.run(
        [sys.executable, "-m", "reservations.cli", "keys", *arguments],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _kid(payload: str) -> str:
    return payload.split(".")[1]


@pytest.mark.server
def test_rotate_and_retire_reach_the_running_workers(
    sqlite_service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    keys = Keys(sqlite_service, monkeypatch, capsys)
    server = start_server(sqlite_service, tmp_path, workers=2)
    try:
        with server.client() as client:
            used, leaked = (t["qr_payload"] for t in book(client, visitors=2)["tickets"])
            old = _kid(used)

            rotated = keys_command(sqlite_service, "rotate")
            assert rotated.returncode == 0, rotated.stderr
            new = rotated.stdout.split()[3]
            assert new != old and f"{old} keeps verifying" in rotated.stdout
            rotated_at = time.monotonic()
            # Workers look at the key directory at most once a second: book, each time on a
            # connection of its own (any worker may answer), until six bookings in a row are
            # signed with the new key, counting those the old key still signed meanwhile. Six
            # answers may all come from one worker, so the second must also have passed
            # (after it, a worker's next request reads the directory again).
            signed_by_old = 2

            def new_key_signs_everywhere() -> bool:
                nonlocal signed_by_old
                if time.monotonic() - rotated_at <= Keyring.RECHECK_SECONDS:
                    return False
                for _ in range(6):
                    with server.client() as fresh:
                        kid = _kid(book(fresh)["tickets"][0]["qr_payload"])
                    if kid != new:
                        signed_by_old += 1
                        return False
                return True

            wait_until(new_key_signs_everywhere, "the workers kept signing with the old key")
            # Both workers now sign with the new key.
            for _ in range(4):
                assert _kid(book(client)["tickets"][0]["qr_payload"]) == new

            listing = keys("list")
            assert listing.returncode == 0
            lines = {line.split()[0]: line.split() for line in listing.stdout.splitlines()[1:]}
            assert lines[new][1] == "signing" and lines[old][1] == "verifying"
            assert lines[old][4] == str(signed_by_old)  # live tickets signed by the old key

            set_clock(client, OPENING)
            staff = staff_headers(client)
            published = client.get("/api/v1/gate/keys", headers=staff)
            assert published.status_code == 200, published.text
            assert [key["kid"] for key in published.json()["keys"]] == [new, old]
            assert scan(client, staff, used)["admitted"] is True

            # The signing key cannot be retired, nor one whose tickets are still live.
            refused = keys("retire", new)
            assert refused.returncode == 1 and "rotate" in refused.stdout
            still_live = keys("retire", old)
            assert still_live.returncode == 1
            assert f"{signed_by_old - 1} unused tickets" in still_live.stdout
            assert keys("retire", "NOSUCHKY").returncode == 2

            # A leaked key is retired anyway: its tickets stop working at once.
            forced = keys("retire", old, "--force")
            assert forced.returncode == 0 and f"retired {old}" in forced.stdout
            retired_at = time.monotonic()

            # Until every worker has looked at the key directory again (each answer on a
            # connection of its own, and the second in which a worker may skip the look
            # gone by), the retired key may still be published.
            def retired_everywhere() -> bool:
                if time.monotonic() - retired_at <= Keyring.RECHECK_SECONDS:
                    return False
                for _ in range(6):
                    with server.client() as fresh:
                        listed = fresh.get("/api/v1/gate/keys", headers=staff).json()["keys"]
                    if [key["kid"] for key in listed] != [new]:
                        return False
                return True

            wait_until(retired_everywhere, "the workers kept trusting the retired key")
            for _ in range(2):
                assert scan(client, staff, leaked)["reason"] == "invalid"
            published = client.get("/api/v1/gate/keys", headers=staff)
            assert published.status_code == 200, published.text
            assert [key["kid"] for key in published.json()["keys"]] == [new]
            assert keys("retire", old).stdout.strip() == f"{old} is already retired"
    finally:
        log = stop_server(server)
    assert "Traceback" not in log
    for path in (Path(sqlite_service.env["RESERVATIONS_DATA_DIR"]) / "signing-keys").iterdir():
        assert path.stat().st_mode & 0o077 == 0
