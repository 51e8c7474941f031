"""Reports: people per day from the booking table, and a day's bookings as CSV for Excel."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from reservations import clock, db
from reservations.admin.export import safe_cell
from reservations.booking.models import Booking, BookingStatus
from tests.conftest import TOMORROW, admin_headers, set_clock
from tests.rules.test_rules_api import audit_entries, error_of
from tests.support import people


def add_booking(day: date, channel: str, status: str, size: int, **values: Any) -> None:
    """A booking row as the team channel or the nightly no-show job leave it."""
    now = clock.now()
    with db.transaction() as session:
        session.add(
            Booking(
                reference=f"T{abs(hash((day, channel, status, size))) % 10**7:07d}",
                channel=channel,
                day=day,
                slot_id="1300",
                slot_start="13:00",
                slot_end="15:00",
                status=status,
                party_size=size,
                manage_token_hash="0" * 64,
                created_at=now,
                updated_at=now,
                **values,
            )
        )


def stats(client: TestClient, headers: dict[str, str], start: str, end: str) -> Any:
    return client.get("/api/v1/admin/stats", params={"start": start, "end": end}, headers=headers)


def test_stats_count_people_per_day(client: TestClient) -> None:
    headers = admin_headers(client)
    pair = [people.visitor("张三丰", born=date(1980, 1, 2)), people.visitor("李四")]
    booked = client.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=pair))
    assert booked.status_code == 201, booked.text
    cancelled = client.post(
        "/api/v1/bookings",
        json=people.booking(TOMORROW, visitors=[people.visitor("王五", born=date(1985, 3, 3))]),
    ).json()
    assert (
        client.post(
            f"/api/v1/bookings/{cancelled['reference']}/cancel",
            headers={"X-Booking-Token": cancelled["manage_token"]},
        ).json()["status"]
        == "cancelled"
    )
    add_booking(TOMORROW, "team", BookingStatus.PENDING, 30, organization="郑州市第一中学")
    add_booking(TOMORROW, "team", BookingStatus.REJECTED, 12, organization="被拒绝的单位")
    add_booking(TOMORROW, "team", BookingStatus.CANCELLED, 20, organization="取消的单位")
    add_booking(TOMORROW, "individual", BookingStatus.NO_SHOW, 2)

    # One of the pair comes through the gate on the day.
    set_clock(client, "2026-03-10T09:05:00+08:00")
    headers = admin_headers(client)  # yesterday's token has expired
    scanned = client.post(
        "/api/v1/gate/scan",
        json={"payload": booked.json()["tickets"][0]["qr_payload"], "gate": "east-1",
              "direction": "in", "headcount": None},
        headers=headers,
    )  # fmt: skip
    assert scanned.status_code == 200 and scanned.json()["admitted"] is True, scanned.text

    response = stats(client, headers, "2026-03-09", "2026-03-11")
    assert response.status_code == 200, response.text
    days = response.json()["days"]
    assert [day["date"] for day in days] == ["2026-03-09", "2026-03-10", "2026-03-11"]
    assert days[1] == {
        "date": "2026-03-10",
        "individual_booked": 2 + 2,  # the pair (one checked in) and the no-show party
        "team_booked": 30,  # pending teams hold places; rejected and cancelled do not
        "walk_in_booked": 0,
        "checked_in": 1,
        "no_shows": 2,
        "cancelled": 1 + 20,
    }
    assert days[0]["individual_booked"] == days[2]["cancelled"] == 0


def test_stats_range_is_validated(client: TestClient) -> None:
    headers = admin_headers(client)
    assert len(stats(client, headers, "2026-03-01", "2026-05-01").json()["days"]) == 62
    for start, end in (("2026-03-10", "2026-03-09"), ("2026-03-01", "2026-05-02"),
                       ("2026-03-01", "soon")):  # fmt: skip
        assert error_of(stats(client, headers, start, end))["code"] == "validation_error"
    missing = client.get("/api/v1/admin/stats", params={"start": "2026-03-01"}, headers=headers)
    assert error_of(missing)["code"] == "validation_error"
    assert error_of(stats(client, {}, "2026-03-01", "2026-03-02"))["code"] == "unauthorized"


def rows_of(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
    text = body[3:].decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_a_days_bookings_as_csv_with_masked_personal_data(client: TestClient) -> None:
    headers = admin_headers(client)
    visitor = people.visitor("欧阳娜娜", born=date(1990, 5, 17))
    booked = client.post("/api/v1/bookings", json=people.booking(TOMORROW, visitors=[visitor]))
    assert booked.status_code == 201
    sly = people.visitor('=HYPERLINK("http://x")', born=date(1991, 2, 3))
    assert (
        client.post(
            "/api/v1/bookings",
            json=people.booking(TOMORROW, slot_id="1100", visitors=[sly], phone="13900139000"),
        ).status_code
        == 201
    )
    add_booking(
        TOMORROW, "team", BookingStatus.PENDING, 30, organization="=1+2", phone_masked="139****9000"
    )

    response = client.get("/api/v1/admin/bookings.csv", params={"date": "2026-03-10"},
                          headers=headers)  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="bookings-2026-03-10.csv"'
    )
    rows = rows_of(response.content)
    assert rows[0][:4] == ["预约号", "渠道", "状态", "时段"]
    assert len(rows) == 1 + 3
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["预约号"] == booked.json()["reference"]
    assert (first["渠道"], first["状态"], first["时段"]) == ("个人", "已确认", "09:00-11:00")
    assert (first["姓名"], first["手机号码"]) == ("欧**娜", "138****8000")
    assert first["证件号码"] == visitor["id_number"][:4] + "*" * 10 + visitor["id_number"][-4:]
    text = response.content.decode("utf-8-sig")
    for secret in (visitor["id_number"], sly["id_number"], "13800138000", "13900139000",
                   "欧阳娜娜"):  # fmt: skip
        assert secret not in text
    # Nothing a spreadsheet would run as a formula.
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert any(cell.startswith("'=") for row in rows for cell in row)
    team = dict(zip(rows[0], rows[3], strict=True))
    assert (team["单位"], team["渠道"], team["状态"]) == ("'=1+2", "团队", "待审核")

    [entry] = audit_entries(client, headers, action="bookings.export")
    assert (entry["target"], entry["after"]) == ("2026-03-10", {"bookings": 3})

    english = client.get("/api/v1/admin/bookings.csv", params={"date": "2026-03-10"},
                         headers={**headers, "Accept-Language": "en"})  # fmt: skip
    assert rows_of(english.content)[0][:3] == ["Reference", "Channel", "Status"]
    assert (
        error_of(client.get("/api/v1/admin/bookings.csv", params={"date": "2026-03-10"}))["code"]
        == "unauthorized"
    )


def test_safe_cell_neutralises_formulas_only() -> None:
    assert safe_cell("=SUM(A1:A9)") == "'=SUM(A1:A9)"
    assert safe_cell("+86") == "'+86"
    assert safe_cell("-1") == "'-1"
    assert safe_cell("@cmd") == "'@cmd"
    assert safe_cell("\t=1") == "'\t=1"
    assert safe_cell("张*") == "张*"
    assert safe_cell(None) == ""
    assert safe_cell(3) == "3"
