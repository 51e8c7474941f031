"""Identity documents and mobile numbers (GB 11643, permit formats, mainland mobiles)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from reservations.privacy.documents import (
    DOCUMENT_KINDS,
    IdType,
    InvalidDocument,
    InvalidPhone,
    browser_rules,
    canonical_phone,
    kind_named,
    kind_of,
    parse_document,
    resident_id_check_character,
)
from reservations.web import i18n

TODAY = date(2026, 3, 9)


def test_check_character_of_the_published_example() -> None:
    assert resident_id_check_character("11010519491231002") == "X"


@pytest.mark.parametrize("first17", ["41010519900517123", "44030419851231001", "11010120000229004"])
def test_check_character_matches_iso_7064_mod_11_2(first17: str) -> None:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    remainder = (12 - sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11) % 11
    expected = "X" if remainder == 10 else str(remainder)
    assert resident_id_check_character(first17) == expected


def test_resident_id_accepts_lower_case_x_and_stores_upper_case() -> None:
    document = parse_document("resident_id", "11010519491231002x", TODAY)
    assert document.number == "11010519491231002X"
    assert document.birth_date == date(1949, 12, 31)
    assert document.identity_key == "resident_id:11010519491231002X"


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("11010519491231002Y", "format"),  # not a digit or X
        ("110105194912310021", "check_character"),
        ("110105194902300012", "birth_date"),  # 30 February
        ("110105203001010018", "birth_date"),  # born in the future
        ("990105199001010012", "address_code"),
        ("1101051949123100", "format"),  # too short
    ],
)
def test_resident_id_refusals_name_the_problem(number: str, problem: str) -> None:
    with pytest.raises(InvalidDocument) as refusal:
        parse_document("resident_id", number, TODAY)
    assert number not in str(refusal.value)
    assert refusal.value.problem == problem


def test_residence_permits_use_the_resident_id_format() -> None:
    first17 = "81000019900101001"
    number = first17 + resident_id_check_character(first17)
    assert parse_document("resident_id", number, TODAY).birth_date == date(1990, 1, 1)


def test_age_counts_birthdays() -> None:
    document = parse_document("resident_id", "11010519491231002X", TODAY)
    assert document.age_on(date(2026, 12, 30)) == 76
    assert document.age_on(date(2026, 12, 31)) == 77


@pytest.mark.parametrize(
    ("id_type", "number", "identity"),
    [
        ("passport", "E12345678", "passport:E12345678"),
        ("passport", "EA1234567", "passport:EA1234567"),
        ("passport", "x1234567", "passport:X1234567"),
        ("hk_macau_permit", "H12345678", "hk_macau_permit:H12345678"),
        ("hk_macau_permit", "M1234567801", "hk_macau_permit:M12345678"),
        ("taiwan_permit", "12345678", "taiwan_permit:12345678"),
        ("taiwan_permit", "1234567801", "taiwan_permit:12345678"),
    ],
)
def test_other_documents_and_who_they_identify(id_type: str, number: str, identity: str) -> None:
    document = parse_document(id_type, number, TODAY)
    assert document.id_type == IdType(id_type)
    assert document.identity_key == identity
    assert document.birth_date is None


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        ("passport", "EI1234567"),  # Chinese passports skip I and O... but foreign ones may not
        ("passport", "AB1"),
        ("passport", "E1234-567#"),
        ("hk_macau_permit", "H1234567"),
        ("hk_macau_permit", "K12345678"),
        ("taiwan_permit", "123456789"),
        ("military_id", "12345678"),
    ],
)
def test_other_document_refusals(id_type: str, number: str) -> None:
    if number == "EI1234567":
        # Not a Chinese passport, but it is a valid foreign passport pattern.
        assert parse_document(id_type, number, TODAY).number == number
        return
    with pytest.raises(InvalidDocument):
        parse_document(id_type, number, TODAY)


@pytest.mark.parametrize(
    "raw", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "19912345678"]
)
def test_mainland_mobiles_are_normalised(raw: str) -> None:
    assert len(canonical_phone(raw)) == 11


@pytest.mark.parametrize(
    "raw", ["12800138000", "1380013800", "138001380001", "+1 415 555 0100", ""]
)
def test_other_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhone):
        canonical_phone(raw)


def test_every_document_type_has_one_kind_in_the_registry() -> None:
    assert [kind.id_type for kind in DOCUMENT_KINDS] == list(IdType)
    for kind in DOCUMENT_KINDS:
        assert kind_of(kind.value) is kind
        assert kind.invalid["format"]
    with pytest.raises(InvalidDocument) as refusal:
        kind_of("military_id")
    assert refusal.value.problem == "document_type"


@pytest.mark.parametrize(
    ("number", "problem"),
    [("110105194912310021", "check_character"), ("990105199001010012", "address_code")],
)
def test_every_problem_of_a_number_has_its_own_words(number: str, problem: str) -> None:
    with pytest.raises(InvalidDocument) as refusal:
        parse_document("resident_id", number, TODAY)
    resident = kind_of("resident_id")
    assert refusal.value.problem == problem
    assert resident.invalid[problem] != resident.invalid["format"]


def test_patterns_use_only_what_a_browser_reads_alike() -> None:
    # booking.js builds RegExps from these sources: no Python-only syntax (named groups,
    # \A, \Z, \d, inline flags) may slip in.
    for kind in DOCUMENT_KINDS:
        assert re.fullmatch(r"\^[\[\]\(\)|{}?,0-9A-Z-]*\$", kind.pattern.pattern), kind.value
    rules = browser_rules()
    assert list(rules["kinds"]) == [kind.value for kind in DOCUMENT_KINDS]
    assert rules["kinds"]["resident_id"] == {"pattern": r"^[0-9]{17}[0-9X]$", "gb11643": True}
    assert rules["kinds"]["passport"]["gb11643"] is False
    assert 41 in rules["address_codes"] and 99 not in rules["address_codes"]


@pytest.mark.parametrize(
    ("word", "id_type"),
    [
        ("passport", "passport"),
        ("Passport", "passport"),
        ("护照", "passport"),
        ("回乡证", "hk_macau_permit"),
        ("台胞证", "taiwan_permit"),
        ("居住证", "resident_id"),
        ("驾驶证", None),
    ],
)
def test_team_leaders_name_kinds_in_their_own_words(word: str, id_type: str | None) -> None:
    kind = kind_named(word)
    assert (kind.value if kind else None) == id_type


def test_the_documents_texts_have_their_english_in_one_catalog_of_their_own() -> None:
    texts = {
        text for kind in DOCUMENT_KINDS for text in (kind.label, kind.name, *kind.invalid.values())
    }
    catalogs = i18n.area_catalogs("en")
    assert set(catalogs["documents"]) == texts
    # No page's catalog says it otherwise: every area shows the documents' own English.
    for area, catalog in catalogs.items():
        if area != "documents":
            assert not texts & set(catalog), area
    with i18n.speaking("en", area="admin"):
        assert i18n.gettext(kind_of("hk_macau_permit").name) == (
            "Mainland Travel Permit for Hong Kong and Macao Residents"
        )


def test_every_api_name_fits_where_it_is_stored_and_posted() -> None:
    from reservations.booking.models import Visitor

    stored = Visitor.__table__.c.id_type.type.length  # type: ignore[attr-defined]
    assert stored == 24  # as the team pages' form fields take it
    for kind in DOCUMENT_KINDS:
        assert len(kind.value) <= stored, kind.value
