"""The service refuses to start with a weak RESERVATIONS_SECRET_KEY, saying why, non-zero,
and without repeating the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from reservations.settings import MIN_SECRET_KEY_BYTES, Settings
from tests.conftest import REPO

WEAK = "museum-secret-2026"


def run_cli(tmp_path: Path, *args: str, secret: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESERVATIONS_")}
    env.update(RESERVATIONS_DATA_DIR=str(tmp_path / "data"), RESERVATIONS_SECRET_KEY=secret)
    return subprocess.run(
        [sys.executable, "-m", "reservations.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["migrate"], ["keys", "list"]])
def test_a_short_secret_key_stops_every_command(tmp_path: Path, command: list[str]) -> None:
    finished = run_cli(tmp_path, *command, secret=WEAK)
    assert finished.returncode == 2
    assert "RESERVATIONS_SECRET_KEY: " in finished.stderr
    assert f"at least {MIN_SECRET_KEY_BYTES} bytes" in finished.stderr
    assert WEAK not in finished.stderr + finished.stdout
    assert "Traceback" not in finished.stderr
    assert not (tmp_path / "data").exists(), "nothing was started or created"


def test_a_long_enough_secret_key_is_taken(tmp_path: Path) -> None:
    finished = run_cli(tmp_path, "migrate", secret="x" * MIN_SECRET_KEY_BYTES)
    assert finished.returncode == 0, finished.stderr


def test_the_limit_counts_bytes_and_hides_the_value() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(secret_key="密" * 10)  # type: ignore[arg-type]  # 30 bytes in UTF-8
    assert "密" not in str(refused.value)
    assert Settings(secret_key="密" * 11).secret_key is not None  # type: ignore[arg-type]
