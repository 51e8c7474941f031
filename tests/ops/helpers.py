"""Reading the Prometheus text format, and small steps the operations tests share."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support import people

Client = TestClient | httpx.Client


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
    return sum(
        found
        for sample_name, sample_labels, found in samples(text)
        if sample_name == name and all(sample_labels.get(k) == v for k, v in labels.items())
    )


def book(client: Client, day: Any, **changes: Any) -> httpx.Response:
    body = people.booking(day, **changes)
    return client.post("/api/v1/bookings", json=body)
