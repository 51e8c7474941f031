"""One person under every spelling: however a document or phone number is typed (full-width
digits from a Chinese input method, spaces and dashes of any kind, invisible formatting
characters, lower case), it has one canonical form, one identity, one keyed hash and one
mask; what is still not ASCII is refused, never taken as a new person."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reservations.privacy import documents
from reservations.privacy.documents import (
    InvalidDocument,
    InvalidPhone,
    canonical_document,
    canonical_phone,
    mask_document,
    parse_document,
    resident_id_check_character,
)
from reservations.privacy.masking import mask_phone
from reservations.protection import identities as rate_keys

TODAY = date(2026, 3, 9)
SEPARATORS = [
    " ",
    "\t",
    "\u3000",  # ideographic space
    "\u00a0",  # no-break space
    "-",
    "\u2010",  # hyphen
    "\u2011",  # non-breaking hyphen
    "\u2013",  # en dash
    "\u2014",  # em dash
    "\u2212",  # minus sign
    "\uff0d",  # full-width hyphen-minus
    "\u200b",  # zero width space
    "\u00ad",  # soft hyphen
    "\ufeff",  # byte order mark
]
# Digits that are digits to Python's \d but not ASCII: they must never make a new person.
FOREIGN_DIGITS = [
    "\u0660",  # Arabic-Indic
    "\u06f0",  # Extended Arabic-Indic
    "\u0966",  # Devanagari
    "\u09e6",  # Bengali
    "\u0e50",  # Thai
    "\u1040",  # Myanmar
]


def full_width(character: str) -> str:
    return chr(ord(character) + 0xFEE0) if "!" <= character <= "~" else character


@st.composite
def spelling(draw: st.DrawFn, canonical: str) -> str:
    """``canonical`` as a person might type it."""
    typed = []
    for character in canonical:
        form = draw(st.sampled_from(["plain", "full-width", "lower"]))
        if form == "full-width":
            character = full_width(character)
        elif form == "lower":
            character = character.lower()
        typed.append(character)
        typed.append(draw(st.sampled_from(["", "", "", *SEPARATORS])))
    return draw(st.sampled_from([*SEPARATORS, ""])) + "".join(typed)


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["410105", "110105", "440304", "810000", "830000"]))
    born = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2025, 12, 31)))
    first17 = f"{area}{born:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return first17 + resident_id_check_character(first17)


DIGITS = "0123456789"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
chinese_passports = st.one_of(
    st.text(DIGITS, min_size=8, max_size=8).map(lambda digits: "E" + digits),
    st.tuples(st.sampled_from(LETTERS), st.text(DIGITS, min_size=7, max_size=7)).map(
        lambda parts: "E" + parts[0] + parts[1]
    ),
)
foreign_passports = st.text(DIGITS + LETTERS, min_size=5, max_size=17)
hk_macau_permits = st.tuples(
    st.sampled_from("HM"),
    st.text(DIGITS, min_size=8, max_size=8),
    st.sampled_from(["", "00", "01", "12"]),
).map("".join)
taiwan_permits = st.tuples(
    st.text(DIGITS, min_size=8, max_size=8), st.sampled_from(["", "00", "03"])
).map("".join)

DOCUMENTS = {
    "resident_id": resident_ids(),
    "passport": st.one_of(chinese_passports, foreign_passports),
    "hk_macau_permit": hk_macau_permits,
    "taiwan_permit": taiwan_permits,
}


@pytest.mark.parametrize("id_type", list(DOCUMENTS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_spelling_of_a_document_is_one_person_with_one_mask(
    id_type: str, data: st.DataObject
) -> None:
    canonical = data.draw(DOCUMENTS[id_type], label="canonical")
    typed = data.draw(spelling(canonical), label="typed")
    expected = parse_document(id_type, canonical, TODAY)
    parsed = parse_document(id_type, typed, TODAY)
    assert parsed.number == canonical == canonical_document(id_type, typed)
    assert parsed.identity_key == expected.identity_key
    assert mask_document(id_type, parsed.number) == mask_document(id_type, canonical)
    assert rate_keys.document_key(id_type, typed) == expected.identity_key
    assert canonical_document(id_type, canonical_document(id_type, typed)) == canonical


@pytest.mark.parametrize("id_type", list(DOCUMENTS))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_digits_of_other_scripts_are_refused_not_a_new_person(
    id_type: str, data: st.DataObject
) -> None:
    canonical = data.draw(DOCUMENTS[id_type], label="canonical")
    positions = [index for index, character in enumerate(canonical) if character.isdigit()]
    assume(positions)
    index = data.draw(st.sampled_from(positions), label="position")
    foreign = data.draw(st.sampled_from(FOREIGN_DIGITS), label="script")
    # The same digit value in another script.
    typed = canonical[:index] + chr(ord(foreign) + int(canonical[index])) + canonical[index + 1 :]
    assert typed[index].isdigit()
    with pytest.raises(InvalidDocument):
        parse_document(id_type, typed, TODAY)
    assert rate_keys.document_key(id_type, typed) is None


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_spelling_of_a_mobile_number_is_one_phone(data: st.DataObject) -> None:
    canonical = (
        "1"
        + data.draw(st.sampled_from("3456789"))
        + data.draw(st.text(DIGITS, min_size=9, max_size=9))
    )
    prefix = data.draw(st.sampled_from(["", "+86", "+86 ", "0086", "＋８６", "(+86)"]))
    typed = data.draw(spelling(prefix + canonical))
    assert canonical_phone(typed) == canonical
    assert mask_phone(canonical_phone(typed)) == mask_phone(canonical)
    assert rate_keys.phone_key(typed) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "138\u0660\u0660138000",  # Arabic-Indic zeros
        "１３８００１３８００Ｏ",  # a full-width letter O among the digits
        "1380013800０0",  # one digit too many
        "",
    ],
)
def test_phones_that_are_still_not_ascii_or_not_mobiles_are_refused(typed: str) -> None:
    with pytest.raises(InvalidPhone):
        canonical_phone(typed)


@pytest.mark.parametrize(
    ("id_type", "typed"),
    [
        ("passport", "E2468550\u0666"),
        ("passport", "Ε24685506"),  # Greek capital epsilon, not E
        ("passport", "E２４６８５５０６\u0301"),  # a combining accent
        ("passport", "STRAßE1"),  # "ß".upper() is "SS": refused before upper-casing
        ("hk_macau_permit", "Н12345678"),  # Cyrillic en
        ("resident_id", "11010519491231002Х"),  # Cyrillic ha for X
        ("resident_id", "   "),
    ],
)
def test_look_alikes_are_refused(id_type: str, typed: str) -> None:
    with pytest.raises(InvalidDocument):
        parse_document(id_type, typed, TODAY)


def test_the_finding_full_width_passport_is_the_same_person() -> None:
    plain = parse_document("passport", "E24685506", TODAY)
    wide = parse_document("passport", "E２４６８５５０６", TODAY)
    assert wide == plain
    assert mask_document("passport", wide.number) == "E******06"


def test_an_unknown_document_type_is_refused() -> None:
    with pytest.raises(InvalidDocument):
        canonical_document("military_id", "12345678")
    assert documents.document_type("passport") is documents.IdType.PASSPORT
