"""Identity documents and mobile numbers: one canonical form each, and validation.

Pure functions with no I/O; the rules come from GB 11643-1999 and the permit formats in the
museum's domain notes.

Every part of the service that reads a document or phone number (validation, keyed hashes,
rate-limit keys, masks, lookups) goes through ``canonical_document`` or ``canonical_phone``,
so one person has one identity however the number was typed: full-width digits from a
Chinese input method, spaces, dashes of any kind, invisible formatting characters, lower
case. What is still not ASCII after that (Arabic-Indic digits, look-alike letters) is
refused rather than guessed at.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class IdType(StrEnum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAU_PERMIT = "hk_macau_permit"
    TAIWAN_PERMIT = "taiwan_permit"


class InvalidDocument(ValueError):
    """The number does not fit its document type. The message never repeats the number.

    ``problem`` says which part is wrong, for a message that names it: ``format`` (length or
    characters), ``address_code``, ``birth_date`` (not a real or possible date),
    ``check_character`` (everything fits but the last character), ``document_type``.
    """

    def __init__(self, message: str, problem: str = "format") -> None:
        super().__init__(message)
        self.problem = problem


class InvalidPhone(ValueError):
    pass


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
# ASCII digits only: ``\d`` would also match full-width and Arabic-Indic digits.
_RESIDENT_ID = re.compile(r"^[0-9]{17}[0-9X]$")
_CHINESE_PASSPORT = re.compile(r"^E([0-9]{8}|[A-HJ-NP-Z][0-9]{7})$")
_FOREIGN_PASSPORT = re.compile(r"^[A-Z0-9]{5,17}$")
_HK_MACAU_PERMIT = re.compile(r"^[HM][0-9]{8}([0-9]{2})?$")
_TAIWAN_PERMIT = re.compile(r"^[0-9]{8}([0-9]{2})?$")
_MAINLAND_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
# What people put between the characters of a number: after NFKC, any space, any dash
# (Unicode category Pd), the minus sign, and invisible formatting characters (Cf: zero
# width spaces, soft hyphens, byte order marks). Phones also get parentheses and dots.
_MINUS_SIGN = "\u2212"
_PHONE_PUNCTUATION = "()."
# Province-level codes of GB/T 2260, and 81/82/83 for HK/Macau/Taiwan residence permits.
_PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)


@dataclass(frozen=True, slots=True)
class Document:
    id_type: IdType
    number: str  # canonical
    identity_key: str  # see identity_key()
    birth_date: date | None = None

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def resident_id_check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def _without_separators(text: str, extra: str = "") -> str:
    return "".join(
        character
        for character in text
        if not (
            character.isspace()
            or character == _MINUS_SIGN
            or character in extra
            or unicodedata.category(character) in ("Pd", "Cf")
        )
    )


def _canonical_characters(raw: str, extra: str = "") -> str | None:
    """NFKC, separators removed, upper case; ``None`` when anything is still not ASCII.

    ASCII is checked before upper-casing: ``"ß".upper()`` is ``"SS"``.
    """
    text = _without_separators(unicodedata.normalize("NFKC", raw), extra)
    if not text.isascii():
        return None
    return text.upper()


def document_type(id_type: str) -> IdType:
    try:
        return IdType(id_type)
    except ValueError:
        raise InvalidDocument("unknown document type", "document_type") from None


def canonical_document(id_type: str, raw_number: str) -> str:
    """The one written form of a document number: what is validated, hashed, masked, stored.

    It does not judge whether the number is valid for its type (``parse_document`` does);
    it only refuses what cannot be written in the document's own characters.
    """
    document_type(id_type)
    number = _canonical_characters(raw_number)
    if not number:
        raise InvalidDocument("a document number is written in Latin letters and digits")
    return number


def parse_document(id_type: str, raw_number: str, today: date) -> Document:
    kind = document_type(id_type)
    number = canonical_document(kind, raw_number)
    if kind is IdType.RESIDENT_ID:
        return _parse_resident_id(number, today)
    if kind is IdType.PASSPORT:
        if not (_CHINESE_PASSPORT.match(number) or _FOREIGN_PASSPORT.match(number)):
            raise InvalidDocument("not a passport number")
        return Document(kind, number, identity_key(kind, number))
    if kind is IdType.HK_MACAU_PERMIT:
        if not _HK_MACAU_PERMIT.match(number):
            raise InvalidDocument("not a Hong Kong or Macau travel permit number")
        return Document(kind, number, identity_key(kind, number))
    if not _TAIWAN_PERMIT.match(number):
        raise InvalidDocument("not a Taiwan travel permit number")
    return Document(kind, number, identity_key(kind, number))


# What identifies the holder across renewals: HK/Macau permits keep their first nine
# characters, Taiwan permits their first eight.
_IDENTITY_LENGTH = {IdType.HK_MACAU_PERMIT: 9, IdType.TAIWAN_PERMIT: 8}


def identity_key(id_type: str, number: str) -> str:
    """Who a canonical, valid number identifies, as the text behind the keyed hash."""
    kind = document_type(id_type)
    return f"{kind.value}:{number[: _IDENTITY_LENGTH.get(kind)]}"


def _parse_resident_id(number: str, today: date) -> Document:
    if not _RESIDENT_ID.match(number):
        raise InvalidDocument("a resident ID has 17 digits and a check character")
    if int(number[:2]) not in _PROVINCE_CODES:
        raise InvalidDocument("unknown address code", "address_code")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidDocument("the birth date is not a real date", "birth_date") from None
    if born > today or born.year < 1900:
        raise InvalidDocument("the birth date is not possible", "birth_date")
    if resident_id_check_character(number[:17]) != number[17]:
        raise InvalidDocument("the check character does not match", "check_character")
    return Document(IdType.RESIDENT_ID, number, identity_key(IdType.RESIDENT_ID, number), born)


def canonical_phone(raw: str) -> str:
    """A mainland mobile number as 11 ASCII digits: the one form that is validated, hashed,
    masked, stored and looked up. Accepts +86 and 0086, full-width digits, spaces, dashes,
    dots and parentheses."""
    digits = _canonical_characters(raw, _PHONE_PUNCTUATION) or ""
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if not _MAINLAND_MOBILE.match(digits):
        raise InvalidPhone("not a mainland mobile number")
    return digits
