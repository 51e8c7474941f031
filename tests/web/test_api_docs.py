"""The API documents itself: /docs and /redoc load from this service alone, and the OpenAPI
document has a working example for every request body."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from reservations.privacy.documents import DOCUMENT_KINDS
from reservations.web.headers import CONTENT_SECURITY_POLICY
from tests.conftest import LiveServer, admin_headers


def request_bodies(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                found.append((method, path, operation["requestBody"]))
    return found


def test_every_request_body_has_an_example(client: TestClient) -> None:
    bodies = request_bodies(client.get("/openapi.json").json())
    assert len(bodies) >= 13
    missing = [
        f"{method.upper()} {path}"
        for method, path, body in bodies
        for media in body["content"].values()
        if "example" not in media
    ]
    assert not missing, f"add examples in reservations/web/apidocs.py: {missing}"


def test_the_examples_are_accepted_as_they_are(client: TestClient) -> None:
    """Sent as documented, no example is refused for its shape (a booking may still find
    the day full, a reference unknown)."""
    headers = admin_headers(client)
    document = client.get("/openapi.json").json()
    values = {
        "{date}": "2026-03-12",
        "{username}": "gate1",
        "{reference}": "ZZ7K2M9Q",
        "{notice_id}": "1",
    }
    for method, path, body in request_bodies(document):
        url = path
        for name, value in values.items():
            url = url.replace(name, value)
        [(media_type, media)] = body["content"].items()
        if media_type == "application/json":
            response = client.request(method, url, json=media["example"], headers=headers)
        else:
            response = client.request(method, url, data=media["example"], headers=headers)
        assert response.status_code < 500, (method, path, response.text)
        if response.status_code >= 400:
            code = response.json()["error"]["code"]
            assert code not in ("validation_error", "invalid_id_number", "invalid_phone"), (
                method,
                path,
                response.text,
            )
    # The examples did what they say (a new token: the clock example moved time on).
    headers = admin_headers(client)
    assert client.get("/api/v1/admin/users", headers=headers).json()
    rules = client.get("/api/v1/admin/rules", headers=headers).json()
    assert rules["occupancy"]["instantaneous_limit"] == 500


def test_the_policy_loosens_styles_on_the_documentation_pages_only(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "style-src 'self' 'unsafe-inline'" in policy
        assert "script-src 'self';" in policy  # scripts stay the service's own files
        assert not re.search(r"<script(?![^>]*\ssrc=)", response.text)
    for path in ("/", "/openapi.json", "/api/v1/health", "/staff/login"):
        assert client.get(path).headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


@pytest.mark.browser
def test_docs_and_redoc_render_every_operation_offline(browser: Any, live: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    own_host = urlparse(live.base_url).netloc
    elsewhere: list[str] = []

    def only_this_service(route: Any) -> None:
        if urlparse(route.request.url).netloc == own_host:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_service)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live.base_url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=60_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/bookings" in path for path in paths)
    assert any("/api/v1/gate/scan" in path for path in paths)
    assert len(paths) > 30
    # An operation opened shows its example body.
    page.locator(".opblock-post .opblock-summary-path[data-path='/api/v1/bookings']").click()
    page.wait_for_selector("text=11010519491231002X")

    page.goto(f"{live.base_url}/redoc")
    page.wait_for_selector("[data-section-id^='tag/']", timeout=60_000)
    page.get_by_text("/api/v1/gate/scan").first.wait_for(state="attached")
    assert page.locator("[data-section-id^='operation/']").count() > 30

    # Nothing is asked of another host, not even ReDoc's logo, and nothing is refused.
    assert not elsewhere, elsewhere
    assert problems == []
    context.close()


def test_the_contract_names_the_documents_of_the_registry_in_its_order(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    contract = ["resident_id", "passport", "hk_macau_permit", "taiwan_permit"]  # API.md
    assert [kind.value for kind in DOCUMENT_KINDS] == contract
    for model in ("VisitorIn", "LeaderIn", "LookupRequest"):
        assert schemas[model]["properties"]["id_type"] == {
            "type": "string",
            "enum": contract,
            "title": "Id Type",
        }, model
