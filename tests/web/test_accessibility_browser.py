"""Accessibility beyond a glance, in headless Chromium: axe-core finds nothing on any page in
either language, nothing scrolls sideways at 320 px, the focus ring stands out (3:1) from
whatever is behind it, and no focused field hides under a sticky bar.

The staff scanner page is checked with the gate's own tests; /docs and /redoc are Swagger UI
and ReDoc as their makers ship them."""

from __future__ import annotations

import re
from typing import Any

import httpx
from axe_playwright_python.sync_playwright import Axe

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, TOMORROW, LiveServer
from tests.support import people
from tests.teams import factories

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
NARROWEST = {"width": 320, "height": 640}
AXE_OPTIONS = {"resultTypes": ["violations"], "runOnly": ["wcag2a", "wcag2aa", "wcag21a",
                                                        "wcag21aa", "best-practice"]}  # fmt: skip

# The colour behind an element: the first opaque background among its ancestors.
BACKGROUND_OF = """
element => {
  const parse = text => (text.match(/[\\d.]+/g) || []).map(Number);
  for (let node = element; node; node = node.parentElement) {
    const [r, g, b, a = 1] = parse(getComputedStyle(node).backgroundColor);
    if (a > 0.5) return [r, g, b];
  }
  return [255, 255, 255];
}
"""
FOCUS_RING = """
() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  const [r, g, b] = (style.outlineColor.match(/[\\d.]+/g) || []).map(Number);
  return {
    tag: element.tagName,
    name: element.getAttribute("name") || element.id || element.textContent.trim().slice(0, 30),
    width: parseFloat(style.outlineWidth), style: style.outlineStyle, color: [r, g, b],
  };
}
"""


# What sticks out past the right edge, not counting what a scrolling box clips.
WIDEST = """
() => {
  const width = document.documentElement.clientWidth;
  const clipped = e => {
    for (let n = e.parentElement; n; n = n.parentElement) {
      if (["auto", "scroll", "hidden"].includes(getComputedStyle(n).overflowX)) return true;
    }
    return false;
  };
  return Array.from(document.querySelectorAll("body *"))
    .filter(e => e.getBoundingClientRect().right > width + 1 && !clipped(e))
    .slice(0, 4).map(e => e.tagName + "." + e.className + "#" + e.id);
}
"""


def luminance(rgb: list[float]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: list[float], second: list[float]) -> float:
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def seed(live: LiveServer) -> dict[str, str]:
    """A booking, a team request and a notice, so every page has something to show."""
    with live.client() as api:
        booking = api.post("/api/v1/bookings", json=people.booking(TOMORROW)).json()
        team = api.post(
            "/api/v1/team-bookings", json=factories.team_request(TOMORROW, slot_id="1100")
        ).json()
        token = api.post(
            "/api/v1/auth/token", data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        posted = api.post(
            "/api/v1/admin/notices",
            json={"text": "3月14日二层展区维护。", "text_en": "Floor 2 is closed on 14 March."},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert posted.status_code == 201
    return {
        "booking": f"/my/{booking['reference']}/{booking['manage_token']}",
        "team": f"/teams/requests/{team['reference']}",
    }


def visitor_pages(paths: dict[str, str]) -> list[str]:
    return [
        "/",
        f"/book/{TOMORROW}",
        "/my",
        f"{paths['booking']}?booked=1",
        f"{paths['booking']}/print",
        "/teams",
        paths["team"],
        "/staff/login",
        "/book/2027-02-30",
    ]


STAFF_PAGES = [
    "/staff",
    "/admin",
    "/admin/calendar",
    f"/admin/calendar/{TOMORROW}",
    "/admin/rules",
    "/admin/team-bookings",
    "/admin/stats",
    "/admin/users",
    "/admin/audit",
    "/admin/jobs",
    "/admin/notices",
]


def new_page(browser: Any, viewport: dict[str, int], language: str, live: LiveServer) -> Any:
    context = browser.new_context(viewport=viewport, locale="zh-CN")
    context.add_cookies([{"name": "lang", "value": language, "url": live.base_url}])
    return context.new_page()


def sign_in(page: Any, live: LiveServer) -> None:
    """The admin's session, signed in over HTTP and handed to the browser (the login page
    itself is checked like every other page)."""
    with live.client() as http:
        login = http.get("/staff/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token
        response = http.post(
            "/staff/login",
            data={
                "username": ADMIN_USERNAME,
                "password": ADMIN_PASSWORD,
                "csrf_token": token[1],
                "next": "/staff",
            },
        )
        assert response.status_code == 303, response.text
        cookies = [
            {"name": name, "value": value, "url": live.base_url}
            for name, value in http.cookies.items()
        ]
    page.context.add_cookies(cookies)


def check_pages(
    page: Any, live: LiveServer, paths: list[str], viewport: dict[str, int]
) -> list[str]:
    """axe violations and sideways scrolling, page by page; what was found, in words."""
    axe = Axe()
    found = []
    for path in paths:
        page.set_viewport_size(viewport)
        page.goto(f"{live.base_url}{path}")
        results = axe.run(page, options=AXE_OPTIONS)
        for violation in results.response["violations"]:
            targets = [node["target"] for node in violation["nodes"]][:3]
            found.append(f"{path}: {violation['id']} {targets}")
        page.set_viewport_size(NARROWEST)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            wide = page.evaluate(WIDEST)
            found.append(f"{path}: {overflow}px sideways at 320px {wide}")
    return found


def test_every_page_in_both_languages(browser: Any, live: LiveServer) -> None:
    paths = seed(live)
    problems: list[str] = []
    for language in ("zh", "en"):
        visitor = new_page(browser, PHONE, language, live)
        problems += check_pages(visitor, live, visitor_pages(paths), PHONE)
        visitor.context.close()
        staff = new_page(browser, DESKTOP, language, live)
        sign_in(staff, live)
        problems += check_pages(staff, live, STAFF_PAGES, DESKTOP)
        staff.context.close()
    assert problems == [], "\n".join(problems)


def tab_through(page: Any, limit: int) -> list[dict[str, Any]]:
    """Each focus stop reached with the Tab key: its ring and the colour behind the ring."""
    stops = []
    page.locator("body").click(position={"x": 1, "y": 1})
    for _ in range(limit):
        page.keyboard.press("Tab")
        ring = page.evaluate(FOCUS_RING)
        if ring is None:
            break
        # The ring is drawn outside the element: against its parent's background.
        ring["behind"] = page.evaluate(f"({BACKGROUND_OF})(document.activeElement.parentElement)")
        ring["box"] = page.evaluate(
            "(() => { const r = document.activeElement.getBoundingClientRect();"
            " return [r.top, r.bottom, r.left, r.right]; })()"
        )
        ring["in_bar"] = page.evaluate("!!document.activeElement.closest('.sticky-actions')")
        ring["bar"] = page.evaluate(
            "(() => { const bar = document.querySelector('.sticky-actions');"
            " if (!bar) return [0, 0]; const r = bar.getBoundingClientRect();"
            " return [r.top, r.bottom]; })()"
        )
        stops.append(ring)
    return stops


def weak_rings(page: Any, live: LiveServer, paths: list[str], stops: int) -> list[Any]:
    """Focus stops with no ring, a hairline, or under 3:1 against what surrounds the ring
    (WCAG 1.4.11), page by page."""
    weak = []
    for path in paths:
        page.goto(f"{live.base_url}{path}")
        for stop in tab_through(page, stops):
            ratio = contrast(stop["color"], stop["behind"])
            if stop["style"] == "none" or stop["width"] < 2 or ratio < 3:
                weak.append((path, stop["tag"], stop["name"], round(ratio, 2), stop["style"]))
    return weak


def test_the_focus_ring_stands_out_on_every_background(browser: Any, live: LiveServer) -> None:
    paths = seed(live)
    visitor = new_page(browser, PHONE, "zh", live)
    visitor_paths = ["/", f"/book/{TOMORROW}", paths["booking"], "/teams", "/staff/login"]
    weak = weak_rings(visitor, live, visitor_paths, 80)
    visitor.context.close()
    admin = new_page(browser, DESKTOP, "zh", live)
    sign_in(admin, live)
    weak += weak_rings(admin, live, ["/admin", "/admin/rules", "/admin/notices"], 60)
    admin.context.close()
    assert weak == [], weak


def test_no_focused_field_hides_under_the_rules_pages_sticky_bar(
    browser: Any, live: LiveServer
) -> None:
    page = new_page(browser, {"width": 1024, "height": 700}, "zh", live)
    sign_in(page, live)
    page.goto(f"{live.base_url}/admin/rules")
    height = page.viewport_size["height"]
    stops = tab_through(page, 300)
    assert len(stops) > 90  # every rule and slot field, then the bar's buttons
    hidden = []
    for stop in stops:
        if stop["in_bar"]:
            continue
        top, bottom, _left, _right = stop["box"]
        bar_top, bar_bottom = stop["bar"]
        under_the_bar = top < bar_bottom and bottom > bar_top
        if top < 0 or bottom > height or under_the_bar:
            hidden.append((stop["tag"], stop["name"], round(top), round(bottom), round(bar_top)))
    page.context.close()
    assert hidden == [], hidden


def test_the_narrowest_phone_never_scrolls_sideways_on_the_rules_page(
    browser: Any, live: LiveServer
) -> None:
    page = new_page(browser, NARROWEST, "en", live)
    sign_in(page, live)
    page.goto(f"{live.base_url}/admin/rules")
    assert page.evaluate(WIDEST) == []
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    with httpx.Client(base_url=live.base_url) as plain:
        assert plain.get("/admin/rules", follow_redirects=False).status_code == 303
    page.context.close()
