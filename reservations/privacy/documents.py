"""Identity documents and mobile numbers: validation and normal forms.

Pure functions with no I/O; the rules come from GB 11643-1999 and the permit formats in the
museum's domain notes.
"""

from __future__ import annotations

import re
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
_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_CHINESE_PASSPORT = re.compile(r"^E(\d{8}|[A-HJ-NP-Z]\d{7})$")
_FOREIGN_PASSPORT = re.compile(r"^[A-Z0-9]{5,17}$")
_HK_MACAU_PERMIT = re.compile(r"^[HM]\d{8}(\d{2})?$")
_TAIWAN_PERMIT = re.compile(r"^\d{8}(\d{2})?$")
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Province-level codes of GB/T 2260, and 81/82/83 for HK/Macau/Taiwan residence permits.
_PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)


@dataclass(frozen=True, slots=True)
class Document:
    id_type: IdType
    number: str
    # What identifies the person across renewals: HK/Macau permits keep their first nine
    # characters, Taiwan permits their first eight.
    identity_key: str
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


def parse_document(id_type: str, raw_number: str, today: date) -> Document:
    try:
        kind = IdType(id_type)
    except ValueError:
        raise InvalidDocument("unknown document type", "document_type") from None
    number = re.sub(r"[\s-]", "", raw_number).upper()
    if kind is IdType.RESIDENT_ID:
        return _parse_resident_id(number, today)
    if kind is IdType.PASSPORT:
        if not (_CHINESE_PASSPORT.match(number) or _FOREIGN_PASSPORT.match(number)):
            raise InvalidDocument("not a passport number")
        return Document(kind, number, f"passport:{number}")
    if kind is IdType.HK_MACAU_PERMIT:
        if not _HK_MACAU_PERMIT.match(number):
            raise InvalidDocument("not a Hong Kong or Macau travel permit number")
        return Document(kind, number, f"hk_macau_permit:{number[:9]}")
    if not _TAIWAN_PERMIT.match(number):
        raise InvalidDocument("not a Taiwan travel permit number")
    return Document(kind, number, f"taiwan_permit:{number[:8]}")


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
    return Document(IdType.RESIDENT_ID, number, f"resident_id:{number}", born)


def normalize_phone(raw: str) -> str:
    """A mainland mobile number as 11 digits; accepts +86, 0086, spaces and dashes."""
    digits = re.sub(r"[\s\-()]", "", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _MAINLAND_MOBILE.match(digits):
        raise InvalidPhone("not a mainland mobile number")
    return digits
