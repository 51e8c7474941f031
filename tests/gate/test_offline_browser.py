"""A member of staff keeps admitting through a network outage, in real headless Chromium:
the scanner page is kept by its service worker, judges tickets on the device with the
published keys, queues every scan in IndexedDB and uploads it once when the network returns.
The outage is the browser's own offline switch (``context.set_offline``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, LiveServer, admin_headers, set_clock
from tests.gate.factories import OPENING, STAFF_PASSWORD, book, scan, staff_account

TIMEOUT = 20_000
# Turns off Ed25519 in WebCrypto, as in browsers that lack it: the page must fall back.
NO_WEBCRYPTO_ED25519 = """
(() => {
  const subtle = crypto.subtle;
  const importKey = subtle.importKey.bind(subtle);
  subtle.importKey = function (format, key, algorithm, ...rest) {
    const name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
    if (name === "Ed25519") return Promise.reject(new DOMException("none", "NotSupportedError"));
    return importKey(format, key, algorithm, ...rest);
  };
})();
"""


def sign_in(page: Any, live: LiveServer, username: str) -> None:
    page.goto(f"{live.base_url}/gate")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live.base_url}/gate")
    ready(page)
    page.wait_for_selector("#scanner[data-worker='ready']", timeout=TIMEOUT)


def ready(page: Any) -> None:
    page.wait_for_selector("#scanner[data-ready='true']", timeout=TIMEOUT)
    page.wait_for_selector("#scanner[data-offline-ready='true']", timeout=TIMEOUT)


def type_code(page: Any, code: str) -> None:
    page.locator("#payload").fill(code)
    page.locator("#payload").press("Enter")


def verdict(page: Any, state: str, reason: str = "") -> str:
    selector = f"#verdict[data-state='{state}'][data-reason='{reason}']"
    page.wait_for_selector(selector, timeout=TIMEOUT)
    text: str = page.inner_text("#verdict-headline")
    # Ready for the next scan: the next verdict is a new one.
    page.evaluate("document.getElementById('verdict').setAttribute('data-state', 'seen')")
    return text


def waiting(page: Any) -> int:
    return int(page.get_attribute("#scanner", "data-waiting") or "0")


def forged(payload: str) -> str:
    """The same ticket with one signature character changed."""
    last = payload[-2]
    return payload[:-2] + ("A" if last != "A" else "B") + payload[-1]


def database(live_tmp: Path) -> sqlite3.Connection:
    return sqlite3.connect(live_tmp / "data" / "reservations.sqlite3")


def rows(live_tmp: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(database(live_tmp)) as connection:
        return connection.execute(sql).fetchall()


@contextmanager
def scanner(browser: Any, live: LiveServer, username: str, **options: Any) -> Iterator[Any]:
    context = browser.new_context(locale="zh-CN", **options)
    try:
        yield context, context.new_page()
    finally:
        context.close()


def _occupancy(live: LiveServer) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(f"{live.base_url}/api/v1/occupancy").json()
    return result


@pytest.mark.browser
def test_a_scanner_keeps_admitting_through_an_outage_and_every_scan_arrives_once(
    browser: Any, live: LiveServer, tmp_path: Path
) -> None:
    with live.client() as client:
        first, second, used = (book(client)["tickets"][0] for _ in range(3))
        cancelled_booking = book(client)
        cancelled = cancelled_booking["tickets"][0]
        response = client.post(
            f"/api/v1/bookings/{cancelled_booking['reference']}/cancel",
            headers={"X-Booking-Token": cancelled_booking["manage_token"]},
        )
        assert response.status_code == 200
        later = book(client, slot_id="1100")["tickets"][0]
        other_day = book(client, day=date(2026, 3, 11))["tickets"][0]
        set_clock(client, OPENING)
        username, headers = staff_account(client)
        # Admitted at another gate while this scanner was still online.
        assert scan(client, headers, used["qr_payload"], gate="west-1")["admitted"] is True

    with scanner(browser, live, username) as (context, page):
        sign_in(page, live, username)
        assert page.get_attribute("#scanner", "data-verifier") == "webcrypto"
        assert page.get_attribute("#netbar", "data-online") == "true"

        # The network goes. The page opens again from the service worker's copy.
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("#scanner[data-ready='true']", timeout=TIMEOUT)
        expect(page.locator("#netbar")).to_have_attribute("data-online", "false")
        assert "离线" in page.inner_text("#net-state")

        type_code(page, first["qr_payload"])
        assert "离线准许入馆" in verdict(page, "offline-ok")
        assert page.inner_text("#verdict-mode") == "离线核验"
        assert page.inner_text("#verdict-people") == "本次入馆 1 人"
        # No names offline: staff are told to look at the document.
        assert page.is_hidden("#verdict-name-row")
        assert "请查看证件" in page.inner_text("#verdict-check")

        for code, reason in [
            (first["qr_payload"], "already_used"),  # on this device
            (used["qr_payload"], "already_used"),  # on the server's list
            (forged(second["qr_payload"]), "invalid"),
            (cancelled["qr_payload"], "cancelled"),
            (other_day["qr_payload"], "wrong_date"),
            (later["qr_payload"], "too_early"),
        ]:
            type_code(page, code)
            headline = verdict(page, "bad", reason)
            if reason == "too_early":
                assert "10:30" in headline
        type_code(page, second["qr_payload"])
        verdict(page, "offline-ok")

        expect(page.locator("#scanner")).to_have_attribute("data-waiting", "8")
        assert "待上传 8 条" in page.inner_text("#queue-count")
        # Each offline line says it shows the device's (corrected) time, and waits.
        newest = page.locator("#recent li").first
        assert newest.get_attribute("data-offline") == "true"
        assert "本机时间" in newest.inner_text() and "待上传" in newest.inner_text()
        assert newest.locator("time").inner_text().startswith("09:0")
        # Nothing reached the server yet; the estimate counts this device's admissions.
        assert _occupancy(live)["inside"] == 1
        assert page.inner_text("#occupancy-inside") == "3"

        # The network returns, but the first answer is lost on the way back: the server
        # recorded the scans, the scanner does not know and sends them again.
        lost = []

        def lose_the_answer(route: Any) -> None:
            if not lost:
                lost.append(route.fetch().status)
                route.abort("connectionreset")
            else:
                route.continue_()

        context.route("**/gate/offline-scans", lose_the_answer)
        context.set_offline(False)
        page.wait_for_function(
            "() => document.getElementById('upload-status').textContent.includes('失败')",
            timeout=TIMEOUT,
        )
        assert lost == [200]
        assert waiting(page) == 8
        page.get_by_role("button", name="立即上传").click()
        expect(page.locator("#scanner")).to_have_attribute("data-waiting", "0", timeout=TIMEOUT)
        assert "已上传 8 条离线扫码" in page.inner_text("#upload-status")
        expect(page.locator("#netbar")).to_have_attribute("data-online", "true")
        assert "已上传" in page.locator("#recent li").first.inner_text()

    # Every scan is on the server exactly once, at its gate; occupancy is the people admitted.
    offline_rows = rows(tmp_path, "select gate, admitted, reason, conflict from offline_scan")
    assert len(offline_rows) == 8
    assert sorted(row[2] or "" for row in offline_rows) == sorted(
        ["", "", "already_used", "already_used", "invalid", "cancelled", "wrong_date", "too_early"]
    )
    assert sum(row[1] for row in offline_rows) == 2 and not any(row[3] for row in offline_rows)
    assert rows(tmp_path, "select count(*) from gate_scan")[0][0] == 1 + 8
    assert _occupancy(live)["inside"] == 3 and _occupancy(live)["entered_today"] == 3


@pytest.mark.browser
def test_two_offline_scanners_admitting_one_ticket_count_it_once_and_report_it(
    browser: Any, live: LiveServer, tmp_path: Path
) -> None:
    with live.client() as client:
        ticket = book(client)["tickets"][0]
        set_clock(client, OPENING)
        east_user, _ = staff_account(client)
        west_user, _ = staff_account(client)

    with (
        scanner(browser, live, east_user) as (east_context, east),
        scanner(browser, live, west_user) as (west_context, west),
    ):
        sign_in(east, live, east_user)
        sign_in(west, live, west_user)
        east.locator("#gate").fill("east-1")
        west.locator("#gate").fill("west-1")
        assert east.inner_text("#device-name") != west.inner_text("#device-name")
        east_context.set_offline(True)
        west_context.set_offline(True)
        for page in (east, west):
            expect(page.locator("#netbar")).to_have_attribute("data-online", "false")
            type_code(page, ticket["qr_payload"])
            verdict(page, "offline-ok")

        east_context.set_offline(False)
        expect(east.locator("#scanner")).to_have_attribute("data-waiting", "0", timeout=TIMEOUT)
        west_context.set_offline(False)
        expect(west.locator("#scanner")).to_have_attribute("data-waiting", "0", timeout=TIMEOUT)
        assert "1 条与其他入口冲突" in west.inner_text("#upload-status")
        assert "冲突" in west.locator("#recent li").first.inner_text()

    assert _occupancy(live)["inside"] == 1
    with live.client() as client:
        admin = admin_headers(client)
        answer = client.get("/api/v1/admin/offline-problems", headers=admin)
        assert answer.status_code == 200, (answer.text, admin)
        problems = answer.json()["problems"]
        assert [(p["gate"], p["reason"], p["first_gate"]) for p in problems] == [
            ("west-1", "already_used", "east-1")
        ]
        audit = client.get("/api/v1/admin/audit", headers=admin).json()["entries"]
        assert [e["target"] for e in audit if e["action"] == "gate.offline_conflict"] == [
            ticket["ticket_id"]
        ]


@pytest.mark.browser
def test_offline_checks_fall_back_to_the_vendored_verifier_and_hold_the_lease(
    browser: Any, live: LiveServer
) -> None:
    with live.client() as client:
        tickets = [book(client)["tickets"][0] for _ in range(4)]
        admin = admin_headers(client)
        rules = client.patch(
            "/api/v1/admin/rules", json={"gate": {"offline_allowance": 3}}, headers=admin
        )
        assert rules.status_code == 200
        set_clock(client, OPENING)
        username, headers = staff_account(client)

    with scanner(browser, live, username) as (context, page):
        context.add_init_script(NO_WEBCRYPTO_ED25519)
        sign_in(page, live, username)
        assert page.get_attribute("#scanner", "data-verifier") == "noble"
        assert "离线名额 3/3 人，至 09:30" in page.inner_text("#lease")
        # The lease holds three places: online, the other gates leave them free.
        with live.client() as client:
            assert client.get("/api/v1/gate/offline-data", headers=headers).json()["allowance"] == 0
        page.locator("#gate").fill("east-1")
        context.set_offline(True)
        expect(page.locator("#netbar")).to_have_attribute("data-online", "false")
        type_code(page, forged(tickets[0]["qr_payload"]))
        verdict(page, "bad", "invalid")
        # Three people, then this scanner stops admitting, and says why.
        for ticket in tickets[:3]:
            type_code(page, ticket["qr_payload"])
            verdict(page, "offline-ok")
        assert "离线名额 0/3 人" in page.inner_text("#lease")
        type_code(page, tickets[3]["qr_payload"])
        assert "离线名额已用完（3 人）" in verdict(page, "bad", "capacity_full")
        assert page.inner_text("#occupancy-inside") == "3"
        # Entry by document or ticket number needs the network: the page says so.
        page.locator("#document-number").fill("11010519491231002X")
        page.locator("#document-number").press("Enter")
        assert "请扫描二维码" in verdict(page, "bad", "needs_network")
        context.set_offline(False)
        expect(page.locator("#scanner")).to_have_attribute("data-waiting", "0", timeout=TIMEOUT)
        # Uploaded, its lease ended and a new one began.
        expect(page.locator("#lease")).to_contain_text("离线名额 3/3 人", timeout=TIMEOUT)
    assert _occupancy(live)["inside"] == 3


def _headings(page: Any) -> list[str]:
    result: list[str] = page.evaluate(
        "() => [...document.querySelectorAll('main h1, main h2, main h3')].map(h => h.tagName)"
    )
    return result


def _no_violations(page: Any) -> None:
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.browser
def test_the_scanner_reads_in_order_speaks_politely_and_tells_server_time(
    browser: Any, live: LiveServer
) -> None:
    with live.client() as client:
        now, later = book(client)["tickets"][0], book(client, slot_id="1100")["tickets"][0]
        set_clock(client, OPENING)
        username, _ = staff_account(client)

    with scanner(browser, live, username) as (context, page):
        sign_in(page, live, username)
        # Headings in order: the page's h1 first, then its sections' h2s.
        headings = _headings(page)
        assert headings[0] == "H1" and headings.count("H1") == 1, headings
        # One live-region policy: polite status regions only, the verdict among them.
        assert page.locator("[aria-live='assertive'], [role='alert']").count() == 0
        assert page.locator("[aria-live]").count() == 0
        assert page.locator("#verdict-live[role='status'] #verdict-headline").count() == 1

        # "Too early" says from when, in the verdict and in the ticket's entry window.
        type_code(page, later["qr_payload"])
        headline = verdict(page, "bad", "too_early")
        assert "10:30 起可入馆" in headline
        assert page.inner_text("#verdict-window") == "10:30–13:00"

        # The recent list shows the server's time of each verdict (the server's clock is at
        # 09:00; this machine's is not), marked as server time.
        type_code(page, now["qr_payload"])
        verdict(page, "ok")
        newest = page.locator("#recent li").first
        assert newest.locator("time").inner_text() == "09:00:00"
        assert "服务器时间" in newest.inner_text()
        assert newest.get_attribute("data-offline") == "false"

        _no_violations(page)
        # Installable: a manifest Chromium accepts, and a service worker for /gate.
        session = context.new_cdp_session(page)
        manifest = session.send("Page.getAppManifest")
        assert manifest["url"].endswith("/gate/manifest.webmanifest") and manifest["errors"] == []
        errors = session.send("Page.getInstallabilityErrors")["installabilityErrors"]
        # A Playwright context is an incognito profile: only that may stand in the way.
        assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []

        page.goto(f"{live.base_url}/lang/en?next=/gate")
        ready(page)
        assert page.inner_text("#scan-title") == "Scan tickets"
        _no_violations(page)
        page.set_viewport_size({"width": 360, "height": 740})
        _no_violations(page)


@pytest.mark.browser
def test_the_gates_console_page_is_accessible(browser: Any, live: LiveServer) -> None:
    with live.client() as client:
        ticket = book(client)["tickets"][0]
        set_clock(client, OPENING)
        staff = staff_account(client)[1]
        for gate in ("east-1", "west-1"):
            device = f"tablet-{gate}"
            leased = client.get(
                "/api/v1/gate/offline-data", params={"device": device}, headers=staff
            )
            assert leased.status_code == 200
            body = {
                "device": device,
                "scans": [
                    {
                        "id": f"scan-{gate}-0001",
                        "payload": ticket["qr_payload"],
                        "gate": gate,
                        "at": OPENING,
                    }
                ],
            }
            answer = client.post("/api/v1/gate/offline-scans", json=body, headers=staff)
            assert answer.status_code == 200
        # A token that holds no lease uploads what it never scanned offline.
        forged = {
            "device": "laptop",
            "scans": [
                {
                    "id": "scan-laptop-0001",
                    "payload": ticket["qr_payload"],
                    "gate": "x",
                    "at": OPENING,
                }
            ],
        }
        assert (
            client.post("/api/v1/gate/offline-scans", json=forged, headers=staff).status_code == 200
        )
        assert (
            client.get(
                "/api/v1/gate/offline-data", params={"device": "tablet-north"}, headers=staff
            ).status_code
            == 200
        )
    with scanner(browser, live, ADMIN_USERNAME) as (_context, page):
        page.goto(f"{live.base_url}/admin/gates")
        page.get_by_label("用户名").fill(ADMIN_USERNAME)
        page.get_by_label("密码").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{live.base_url}/admin/gates")
        assert page.locator("#problems tbody tr").count() == 2
        assert "west-1" in page.inner_text("#problems")
        assert page.locator("#problems tr[data-problem='no_lease']").count() == 1
        assert "没有离线名额" in page.inner_text("#problems")
        assert page.locator("#leases tbody tr").count() == 3
        _no_violations(page)
        page.get_by_role("button", name="结束 tablet-north 的离线名额").click()
        page.wait_for_url("**/admin/gates?done=lease_ended")
        assert "现有离线名额共预留 0 人" in page.inner_text("main")
        _no_violations(page)
        page.goto(f"{live.base_url}/lang/en?next=/admin/gates")
        assert "Outside the lease" in page.inner_text("#problems")
        _no_violations(page)
        page.set_viewport_size({"width": 320, "height": 700})
        _no_violations(page)
