"""The scanner page as an installable offline app, its same-origin offline endpoints, and the
gates page of the console (in-process, SQLite)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlmodel import select

from reservations import db
from reservations.audit.models import AuditEntry
from reservations.auth import staff_session
from reservations.gate.pages import offline_assets
from reservations.web.headers import CONTENT_SECURITY_POLICY
from reservations.web.static import static_url
from tests.conftest import REPO, set_clock
from tests.gate.factories import OPENING, book, page_session


def test_the_old_address_leads_to_the_scanner(client: TestClient) -> None:
    response = client.get("/staff/scan", follow_redirects=False)
    assert response.status_code == 308 and response.headers["location"] == "/gate"
    page = client.get("/gate", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/staff/login?next=/gate"


def test_the_service_worker_covers_the_page_and_keeps_every_file_it_loads(
    client: TestClient,
) -> None:
    page_session(client)
    html = client.get("/gate").text
    # No session needed: browsers check for a new worker in the background.
    client.cookies.clear()
    worker = client.get("/gate/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/gate"
    assert worker.headers["cache-control"] == "no-cache"
    # The policy stays as strict as everywhere: workers from this origin only.
    assert worker.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "worker-src 'self'" in CONTENT_SECURITY_POLICY
    version = re.search(r'var VERSION = "([0-9a-f]{16})"', worker.text)
    assert version is not None
    kept = json.loads(re.search(r"var ASSETS = (\[.*?\]);", worker.text).group(1))  # type: ignore[union-attr]
    assert kept == offline_assets()
    loaded = set(re.findall(r'(?:href|src|data-[a-z-]+-url)="(/static/[^"]+)"', html))
    assert loaded and loaded <= set(kept), loaded - set(kept)
    for asset in kept:
        assert client.get(asset).status_code == 200, asset
    # The same files, the same version; scripts are served as JavaScript (one is a module).
    assert client.get("/gate/sw.js").text == worker.text
    module = client.get(static_url("gate/vendor/noble-ed25519.js"))
    assert module.headers["content-type"].startswith("text/javascript")


def test_the_manifest_makes_the_scanner_an_app_in_the_pages_language(client: TestClient) -> None:
    response = client.get("/gate/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/gate",
        "/gate",
        "standalone",
    )
    assert manifest["short_name"] == "扫码核验" and manifest["lang"] == "zh-CN"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200
    english = client.get("/gate/manifest.webmanifest", params={"lang": "en"}).json()
    assert english["short_name"] == "Scan tickets" and english["lang"] == "en"
    page_session(client)
    client.get("/lang/en?next=/gate")
    assert 'href="/gate/manifest.webmanifest?lang=en"' in client.get("/gate").text


def test_the_page_fetches_offline_data_and_uploads_with_its_session(client: TestClient) -> None:
    ticket = book(client)["tickets"][0]
    set_clock(client, OPENING)
    csrf = page_session(client)
    data = client.get("/gate/offline-data", params={"device": "scanner-1a2b3c"})
    assert data.status_code == 200 and data.json()["date"] == "2026-03-10"
    # The page's device takes its lease with its session, as the API's with a token.
    assert (data.json()["device"], data.json()["allowance"]) == ("scanner-1a2b3c", 20)
    nameless = client.get("/gate/offline-data", params={"device": " "})
    assert nameless.status_code == 422
    since = client.get("/gate/offline-data", params={"since": data.json()["generated_at"]})
    assert since.json()["complete"] is False
    bad = client.get("/gate/offline-data", params={"since": "2026-03-10 09:00"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"

    body: dict[str, Any] = {
        "device": "scanner-1a2b3c",
        "scans": [
            {"id": str(uuid.uuid4()), "payload": ticket["qr_payload"], "gate": "g", "at": OPENING}
        ],
    }
    unsigned = client.post("/gate/offline-scans", json=body)
    assert unsigned.status_code == 403 and unsigned.json()["error"]["code"] == "csrf_failed"
    uploaded = client.post("/gate/offline-scans", json=body, headers={"X-CSRF-Token": csrf})
    assert uploaded.status_code == 200
    assert uploaded.json()["results"][0]["admitted"] is True
    again = client.post("/gate/offline-scans", json=body, headers={"X-CSRF-Token": csrf})
    assert again.json() == uploaded.json()
    malformed = client.post(
        "/gate/offline-scans", json={"device": "x", "scans": "all"}, headers={"X-CSRF-Token": csrf}
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"]["details"]["fields"][0]["field"] == "scans"
    assert client.get("/api/v1/occupancy").json()["inside"] == 1

    client.cookies.delete(staff_session.COOKIE)
    assert client.get("/gate/offline-data", follow_redirects=False).status_code == 303


def test_the_gates_page_shows_the_leases_and_ends_one_audited(client: TestClient) -> None:
    set_clock(client, OPENING)
    page_session(client, "staff")
    assert client.get("/admin/gates").status_code == 403
    assert client.get("/gate/offline-data", params={"device": "tablet-7"}).status_code == 200
    page_session(client, "admin")
    page = client.get("/admin/gates")
    assert page.status_code == 200 and "入口与离线核验" in page.text
    assert "tablet-7" in page.text and "现有离线名额共预留 20 人" in page.text
    csrf = client.cookies.get("zz_csrf")
    forged = client.post("/admin/gates/end-lease", data={"csrf_token": "x" * 30, "device": "t"})
    assert forged.status_code == 403
    ended = client.post(
        "/admin/gates/end-lease",
        data={"csrf_token": csrf, "device": "tablet-7"},
        follow_redirects=False,
    )
    assert ended.status_code == 303 and ended.headers["location"] == "/admin/gates?done=lease_ended"
    shown = client.get("/admin/gates?done=lease_ended").text
    assert "已结束该设备的离线名额" in shown and "现有离线名额共预留 0 人" in shown
    again = client.post("/admin/gates/end-lease", data={"csrf_token": csrf, "device": "tablet-7"})
    assert again.status_code == 404 and "该设备没有有效的离线名额" in again.text
    with db.transaction(write=False) as session:
        actions = [
            entry.target
            for entry in session.exec(
                select(AuditEntry).where(AuditEntry.action == "gate.lease_ended")
            )
        ]
    assert actions == ["tablet-7"]


def test_every_text_of_the_scanner_and_gates_pages_has_its_english() -> None:
    texts: set[str] = set()
    for path in (REPO / "templates" / "gate").glob("*.html"):
        source = path.read_text(encoding="utf-8")
        texts |= set(re.findall(r'_\(\s*"((?:[^"\\]|\\.)+)"', source))
        texts |= set(re.findall(r"_\(\s*'((?:[^'\\]|\\.)+)'", source))
    for name in ("pages.py", "admin_pages.py", "messages.py"):
        source = (REPO / "reservations" / "gate" / name).read_text(encoding="utf-8")
        texts |= set(re.findall(r'gettext\(\s*"([^"]+)"', source))
        texts |= set(re.findall(r'": "([^"]*[\u4e00-\u9fff][^"]*)"', source))
    assert len(texts) > 100  # the extraction works
    with (REPO / "templates" / "locale" / "en" / "gate.po").open("rb") as handle:
        catalog = {m.id: m.string for m in read_po(handle) if m.id}
    assert sorted(text for text in texts if not catalog.get(text)) == []
    for source, english in catalog.items():
        for placeholder in (r"%\(\w+\)s", r"\{\w+\}"):
            assert sorted(re.findall(placeholder, str(source))) == sorted(
                re.findall(placeholder, str(english))
            ), source
