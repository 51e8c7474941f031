"""English counts through the catalogs' plural forms: "1 visitor", "2 visitors", never
"visitor(s)"."""

from __future__ import annotations

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from reservations.visitor.text import Plural
from reservations.web import i18n
from tests.conftest import REPO, TOMORROW
from tests.support import people


def in_english(function: object) -> str:
    token = i18n.current_language.set("en")
    try:
        return str(function() if callable(function) else function)
    finally:
        i18n.current_language.reset(token)


def test_the_count_picks_the_form() -> None:
    def visitors(count: int) -> str:
        return in_english(lambda: i18n.ngettext("%(num)s人", "%(num)s人", count, num=count))

    assert visitors(1) == "1 visitor"
    assert visitors(2) == "2 visitors"
    assert visitors(0) == "0 visitors"
    same_day = "不接受当天预约：请至少提前%(num)s天预约。"
    assert "at least 1 day in advance" in in_english(Plural(same_day, same_day, 1))
    assert "at least 3 days in advance" in in_english(Plural(same_day, same_day, 3))
    assert str(Plural(same_day, same_day, 3)) == "不接受当天预约：请至少提前3天预约。"


def test_no_catalog_hedges_with_a_parenthesised_plural() -> None:
    for path in (REPO / "templates" / "locale" / "en").glob("*.po"):
        with path.open("rb") as handle:
            catalog = read_po(handle)
        assert catalog.num_plurals == 2, path.name
        for message in catalog:
            forms = [message.string] if isinstance(message.string, str) else message.string
            for form in forms:
                assert "(s)" not in form, (path.name, message.id)


def test_pages_count_in_english(client: TestClient) -> None:
    one = client.post("/api/v1/bookings", json=people.booking(TOMORROW)).json()
    two = client.post(
        "/api/v1/bookings",
        json=people.booking(
            TOMORROW,
            visitors=[people.visitor("王五", sequence=21), people.visitor("赵六", sequence=22)],
            phone="13900139000",
        ),
    ).json()
    client.cookies.set("lang", "en")
    single = client.get(f"/my/{one['reference']}/{one['manage_token']}").text
    assert "<dd>1 visitor</dd>" in single
    assert "Its QR code becomes void" in single
    double = client.get(f"/my/{two['reference']}/{two['manage_token']}").text
    assert "<dd>2 visitors</dd>" in double
    assert "All 2 QR codes of this booking become void" in double
    home = client.get("/").text
    assert "at least 1 day in advance" in home
