"""The language registry: one line per language, read by negotiation, schemas, pages, dates."""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel import Locale
from fastapi.testclient import TestClient

from reservations import languages, resources
from reservations.booking.schemas import BookingRequest
from reservations.languages import Language
from reservations.teams.schemas import TeamBookingRequest
from reservations.web import i18n

A_MONDAY = date(2027, 3, 1)


def test_one_source_language_and_it_is_the_default() -> None:
    assert [language.code for language in languages.LANGUAGES if language.source] == ["zh"]
    assert languages.DEFAULT == languages.SOURCE.code == "zh"
    assert len(set(languages.CODES)) == len(languages.CODES)


def test_every_translated_language_has_catalogs_and_a_babel_locale() -> None:
    root = resources.templates_dir() / "locale"
    for language in languages.LANGUAGES:
        Locale.parse(language.locale)
        if not language.source:
            assert sorted(path.stem for path in (root / language.code).glob("*.po"))


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("", "zh"),
        ("fr-FR,fr;q=0.9", "zh"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh;q=0.5, en;q=0.8", "en"),
        ("en;q=0.5, zh;q=0.5", "en"),
        ("en;q=high, zh;q=0.1", "zh"),
        ("EN-gb", "en"),
    ],
)
def test_accept_language_picks_the_best_language_spoken_here(header: str, chosen: str) -> None:
    assert languages.negotiate(header) == chosen


def test_an_unknown_code_falls_back_to_the_default() -> None:
    assert languages.known("en") == "en"
    assert languages.known("xx") == languages.known(None) == "zh"
    assert languages.language("xx") is languages.SOURCE
    assert not languages.is_known(None) and not languages.is_known("xx")


@pytest.mark.parametrize("model", [BookingRequest, TeamBookingRequest])
def test_schemas_accept_and_document_exactly_the_registered_codes(model: type) -> None:
    schema = model.model_json_schema()["properties"]["language"]
    enums = [option["enum"] for option in schema["anyOf"] if "enum" in option]
    assert enums == [list(languages.CODES)]


def test_dates_in_the_house_styles() -> None:
    written = {
        (style, code): i18n.format_day(A_MONDAY, style, code)
        for style in ("long", "short", "day", "weekday", "letter")
        for code in ("zh", "en")
    }
    assert written == {
        ("long", "zh"): "2027年3月1日 星期一",
        ("long", "en"): "Monday, 1 March 2027",
        ("short", "zh"): "3月1日 周一",
        ("short", "en"): "Mon 1 Mar",
        ("day", "zh"): "3月1日",
        ("day", "en"): "1 Mar",
        ("weekday", "zh"): "周一",
        ("weekday", "en"): "Mon",
        ("letter", "zh"): "2027年3月1日（星期一）",
        ("letter", "en"): "Monday 1 March 2027",
    }
    with i18n.speaking("en"):
        assert i18n.format_day(A_MONDAY, "day") == "1 Mar"
        assert i18n.list_separator() == ", "
    assert i18n.list_separator() == "、"


def test_a_language_without_house_styles_writes_dates_as_its_locale_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A new language needs no date patterns: Babel's data for its locale write them.
    monkeypatch.setitem(languages._BY_CODE, "ja", Language("ja", "ja", "日本語", "ja"))
    assert i18n.format_day(A_MONDAY, "long", "ja") == "2027年3月1日月曜日"
    assert i18n.format_day(A_MONDAY, "short", "ja") == "3月1日(月)"
    assert i18n.list_separator("ja") == "、"


def test_the_switch_offers_every_other_language(client: TestClient) -> None:
    def switch(page: str) -> list[tuple[str, str, str]]:
        nav = re.search(r'<nav class="lang-switch"[^>]*>(.*?)</nav>', page, re.S)
        assert nav is not None
        link = r'<a href="/lang/(\w+)\?next=/"[^>]*hreflang="([\w-]+)">([^<]+)</a>'
        return re.findall(link, nav[1])

    def others(code: str) -> list[tuple[str, str, str]]:
        return [
            (other.code, other.tag, other.name)
            for other in languages.LANGUAGES
            if other.code != code
        ]

    chinese = client.get("/")
    assert chinese.headers["content-language"] == "zh-CN"
    assert '<html lang="zh-CN">' in chinese.text
    assert ("en", "en", "English") in switch(chinese.text)
    assert switch(chinese.text) == others("zh")
    client.cookies.set("lang", "en")
    english = client.get("/")
    assert english.headers["content-language"] == "en"
    assert '<html lang="en">' in english.text
    assert ("zh", "zh-CN", "中文") in switch(english.text)
    assert switch(english.text) == others("en")
