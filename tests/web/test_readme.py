"""The README's API walkthrough works as written: a newcomer books, reads, scans, changes a
rule and cancels without guessing a request body."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from reservations import clock
from tests.conftest import REPO
from tests.support.server import launch


def walkthrough() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Try the API", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "no bash block under 'Try the API'"
    return block[1]


@pytest.mark.server
def test_the_walkthrough_books_reads_scans_changes_a_rule_and_cancels(tmp_path: Path) -> None:
    script = walkthrough()
    assert "BASE=http://127.0.0.1:8000" in script
    # The service's clock at the shell's own time: `date` in the script must agree with it.
    now = clock.now().replace(microsecond=0).isoformat()
    env = {
        "RESERVATIONS_DATA_DIR": str(tmp_path / "data"),
        "RESERVATIONS_FAKE_NOW": now,
        "RESERVATIONS_ADMIN_USERNAME": "admin",
        "RESERVATIONS_ADMIN_PASSWORD": "a long password",
        "RESERVATIONS_RATE_LIMITS": "off",
    }
    server = launch(env, tmp_path, workers=1)
    try:
        script = script.replace("BASE=http://127.0.0.1:8000", f"BASE={server.base_url}")
        shell_env = {**os.environ, "TZ": "Asia/Shanghai"}
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            env=shell_env,
            timeout=120,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        output = ran.stdout
        assert '"status":"confirmed"' in output  # read back
        assert '"admitted":false' in output and '"reason":"wrong_date"' in output  # scanned
        assert '"instantaneous_limit":500' in output  # the rule changed
        assert '"status":"cancelled"' in output  # cancelled
        assert "error" not in output, output
    finally:
        log = server.stop()
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.parametrize("call", ["POST /api/v1/bookings", "POST /api/v1/gate/scan"])
def test_the_readme_shows_the_bodies_of_the_main_calls(call: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    api = readme.split("## API", 1)[1]
    assert f"`{call}`" in api
    assert "/docs" in api and "/redoc" in api
