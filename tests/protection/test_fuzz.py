"""A property-based fuzz of the whole OpenAPI document (schemathesis) against the service
as a real process: every operation gets valid and invalid requests, anonymous and as an
admin, and no answer may be a server error, leak internals, or break the error shape.

Bounded: a fixed number of examples per operation and mode, and a total time budget.
``FUZZ_EXAMPLES`` and ``FUZZ_SECONDS`` raise them for a longer run; ``FUZZ_SEED`` picks
other examples (by default the same ones every run, so a finding can be replayed).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)

from tests.conftest import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    LiveServer,
    Service,
    start_server,
    stop_server,
)

pytestmark = [pytest.mark.server]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
BUDGET_SECONDS = float(os.environ.get("FUZZ_SECONDS", "120"))
SEED = os.environ.get("FUZZ_SEED")
LEAKS = (
    "Traceback",
    'File "/',
    "sqlalchemy",
    "psycopg",
    "sqlite3.",
    "OperationalError",
    "IntegrityError",
    "SELECT ",
    "INSERT INTO",
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import _service_env

    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    server = start_server(Service(_service_env(tmp_path, None), "sqlite"), tmp_path, workers=1)
    try:
        yield server
    finally:
        log = stop_server(server)
        assert "Traceback" not in log, log[-5000:]


def judge(response: Any) -> str | None:
    """What is wrong with an answer, if anything."""
    if response.status_code >= 500:
        return f"server error {response.status_code}: {response.text[:300]}"
    text = response.text if "image/png" not in response.headers.get("content-type", "") else ""
    for leak in LEAKS:
        if leak in text:
            return f"leaks {leak!r}: {text[:300]}"
    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return f"error without the error shape: {text[:300]}"
        if not (
            isinstance(error, dict)
            and set(error) == {"code", "message", "details"}
            and isinstance(error["code"], str)
            and isinstance(error["message"], str)
            and isinstance(error["details"], dict)
        ):
            return f"error without the error shape: {text[:300]}"
    return None


STATUSES: Counter[int] = Counter()


class BudgetSpent(Exception):
    """The fuzz's time is up: stop generating."""


def fuzz(
    schema: Any,
    operation: Any,
    examples: int,
    headers: dict[str, str],
    session: requests.Session,
    base_url: str,
    deadline: float,
    findings: list[str],
) -> int:
    """Schemathesis's own phases for one operation: the schema's examples, the coverage
    phase (boundaries and each kind of invalid value), then random valid and invalid
    requests."""
    sent = 0

    def check(case: Any) -> None:
        nonlocal sent
        if time.monotonic() > deadline:
            raise BudgetSpent()
        response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
        sent += 1
        STATUSES[response.status_code] += 1
        problem = judge(response)
        if problem:
            findings.append(f"{problem}\n    {case.as_curl_command(headers=headers)}")

    test = create_test(
        operation=operation,
        test_func=check,
        config=HypothesisTestConfig(
            project=schema.config,
            modes=list(HypothesisTestMode),
            settings=hypothesis.settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=SEED is None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
                report_multiple_bugs=False,
            ),
            seed=int(SEED) if SEED is not None else None,
        ),
    )
    try:
        test()
    except hypothesis.errors.Unsatisfiable:
        pass  # nothing to make invalid (an operation without parameters)
    except BudgetSpent:
        pass
    return sent


def test_fuzz_the_whole_api(fuzz_server: LiveServer) -> None:
    base = fuzz_server.base_url
    with fuzz_server.client() as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, "the whole contract is published"
    started = time.monotonic()
    deadline = started + BUDGET_SECONDS
    findings: list[str] = []
    sent = 0
    admin = {"Authorization": f"Bearer {token}"}
    # As an admin every operation goes past authentication; anonymous requests check the
    # refusals. Public operations ignore the token.
    plan = [(EXAMPLES, admin), (max(3, EXAMPLES // 5), {})]
    with requests.Session() as session:
        for operation in operations:
            for examples, headers in plan:
                sent += fuzz(
                    schema, operation, examples, headers, session, base, deadline, findings
                )
    elapsed = time.monotonic() - started
    print(
        f"\nfuzz: {len(operations)} operations, {sent} requests in {elapsed:.0f} s, "
        f"{len(findings)} findings; answers {dict(sorted(STATUSES.items()))}"
    )
    assert sent >= len(operations) * 10, "the time budget ran out before the fuzz got going"
    assert not findings, "\n".join(dict.fromkeys(findings))


def test_the_fuzz_oracle_catches_what_it_must() -> None:
    def answer(status: int, body: object, content_type: str = "application/json") -> Any:
        content = body.encode() if isinstance(body, str) else json.dumps(body)
        return httpx.Response(status, content=content, headers={"content-type": content_type})

    good_error = {"error": {"code": "not_found", "message": "Not found.", "details": {}}}
    assert judge(answer(404, good_error)) is None
    assert judge(answer(200, {"status": "ok"})) is None
    assert "server error" in str(judge(answer(500, good_error)))
    assert "server error" in str(judge(answer(503, good_error)))
    assert "error shape" in str(judge(answer(422, {"detail": "x"})))
    assert "error shape" in str(judge(answer(400, {"error": {"code": "x"}})))
    assert "leaks" in str(judge(answer(200, "Traceback (most recent call last):", "text/plain")))
    assert "leaks" in str(judge(answer(409, "(sqlite3.IntegrityError) UNIQUE", "text/plain")))
