"""Identity documents and mobile numbers: one canonical form each, and validation.

Pure functions with no I/O; the rules come from GB 11643-1999 and the permit formats in the
museum's domain notes.

``DOCUMENT_KINDS`` is the one list of the documents the museum accepts: each kind's API
name, its labels, the pattern of its number, what to say when a number does not fit, its
mask, who it identifies across renewals and whether it tells an age. The API's allowed
values, the forms and their choices, the team list's words, the console's labels and the
booking page's script all read it; a new kind of document is an entry here and its texts'
English in ``templates/locale/en/documents.po``.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from reservations.privacy.masking import mask_at_most_a_third, mask_resident_id


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


def _resident_id_birth_date(number: str, today: date) -> date:
    """GB 11643 beyond its pattern: the address code, the birth date, the check character."""
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
    return born


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """One kind of identity document the museum accepts, and all that depends on its kind.

    Its texts are Chinese msgids, shown in the reader's language through their own catalog
    (``templates/locale/en/documents.po``), whichever page shows them.
    """

    id_type: IdType
    label: str  # the choice on the visitor's and the team leader's forms
    name: str  # the official name, in the console and its exports
    # The canonical number. ASCII digits only (``\d`` would also match full-width and
    # Arabic-Indic digits), and only syntax that a browser's RegExp reads alike: the booking
    # page's script checks numbers with these very patterns (``browser_rules``).
    pattern: re.Pattern[str]
    # What the visitor is told when a number does not fit, by ``InvalidDocument.problem``;
    # ``format`` for every problem not listed.
    invalid: Mapping[str, str]
    mask: Callable[[str], str]
    # Other words a team leader may write for it at the end of a member's line.
    aliases: tuple[str, ...] = ()
    # How many leading characters identify the holder across renewals (None: all of them).
    holder_length: int | None = None
    # The age rule: the birth date a number that fits the pattern carries, after the checks
    # the pattern cannot make (raising ``InvalidDocument``). None for kinds that tell no
    # age: their holders are taken as adults.
    birth_date: Callable[[str, date], date] | None = None

    @property
    def value(self) -> str:
        return self.id_type.value


# In the order the forms offer them.
DOCUMENT_KINDS: tuple[DocumentKind, ...] = (
    DocumentKind(
        IdType.RESIDENT_ID,
        # Residence permits of HK, Macau and Taiwan residents share the resident ID's format.
        label="身份证（含港澳台居住证）",
        name="居民身份证",
        pattern=re.compile(r"^[0-9]{17}[0-9X]$"),
        invalid={
            "format": "身份证号码有误：应为18位，最后一位可能是X，请逐位核对。",
            "check_character": (
                "身份证号码的最后一位（校验位）与前17位对不上，可能有一位输错了，请逐位核对。"
            ),
            "birth_date": "身份证号码第7至14位的出生日期不是有效日期，请核对。",
            "address_code": "身份证号码开头的地区代码无效，请核对前6位。",
        },
        mask=mask_resident_id,
        aliases=("身份证", "居民身份证", "居住证"),
        birth_date=_resident_id_birth_date,
    ),
    DocumentKind(
        IdType.PASSPORT,
        label="护照",
        name="护照",
        # Chinese passports (E and 8 digits, or E, a letter but I or O, and 7 digits), or
        # foreign ones: 5 to 17 letters and digits.
        pattern=re.compile(r"^(E([0-9]{8}|[A-HJ-NP-Z][0-9]{7})|[A-Z0-9]{5,17})$"),
        invalid={"format": "护照号码格式有误，请按证件上的号码填写（字母和数字）。"},
        mask=mask_at_most_a_third,
        aliases=("护照",),
    ),
    DocumentKind(
        IdType.HK_MACAU_PERMIT,
        label="港澳居民来往内地通行证（回乡证）",
        name="港澳居民来往内地通行证",
        pattern=re.compile(r"^[HM][0-9]{8}([0-9]{2})?$"),
        invalid={"format": "港澳通行证号码有误：应为H或M开头，后跟8位（或10位）数字。"},
        mask=mask_at_most_a_third,
        aliases=("港澳通行证", "港澳居民来往内地通行证", "回乡证"),
        holder_length=9,  # the last two digits count renewals
    ),
    DocumentKind(
        IdType.TAIWAN_PERMIT,
        label="台湾居民来往大陆通行证（台胞证）",
        name="台湾居民来往大陆通行证",
        pattern=re.compile(r"^[0-9]{8}([0-9]{2})?$"),
        invalid={"format": "台湾通行证号码有误：应为8位（或10位）数字。"},
        mask=mask_at_most_a_third,
        aliases=("台湾通行证", "台湾居民来往大陆通行证", "台胞证"),
        holder_length=8,
    ),
)
_KINDS = {kind.value: kind for kind in DOCUMENT_KINDS}
# What a team leader may write for a kind: its API name or one of its aliases.
_KINDS_BY_WORD = {
    word.lower(): kind for kind in DOCUMENT_KINDS for word in (kind.value, *kind.aliases)
}


def kind_of(id_type: str) -> DocumentKind:
    try:
        return _KINDS[id_type]
    except KeyError:
        raise InvalidDocument("unknown document type", "document_type") from None


def document_type(id_type: str) -> IdType:
    return kind_of(id_type).id_type


def kind_named(word: str) -> DocumentKind | None:
    """The kind a team leader means by ``word`` (``passport``, ``护照``, ``回乡证``...)."""
    return _KINDS_BY_WORD.get(word.strip().lower())


def browser_rules() -> dict[str, Any]:
    """What the booking page's script (``booking.js``) checks as the visitor types, read
    from the kinds above: each kind's pattern, and whether its number is checked further as
    GB 11643's (the address codes below, the birth date, the check character)."""
    return {
        "kinds": {
            kind.value: {
                "pattern": kind.pattern.pattern,
                "gb11643": kind.birth_date is _resident_id_birth_date,
            }
            for kind in DOCUMENT_KINDS
        },
        "address_codes": sorted(_PROVINCE_CODES),
    }


def canonical_document(id_type: str, raw_number: str) -> str:
    """The one written form of a document number: what is validated, hashed, masked, stored.

    It does not judge whether the number is valid for its type (``parse_document`` does);
    it only refuses what cannot be written in the document's own characters.
    """
    kind_of(id_type)
    number = _canonical_characters(raw_number)
    if not number:
        raise InvalidDocument("a document number is written in Latin letters and digits")
    return number


def parse_document(id_type: str, raw_number: str, today: date) -> Document:
    kind = kind_of(id_type)
    number = canonical_document(kind.value, raw_number)
    if not kind.pattern.match(number):
        raise InvalidDocument(f"not a {kind.value} number")
    born = kind.birth_date(number, today) if kind.birth_date else None
    return Document(kind.id_type, number, identity_key(kind.value, number), born)


def identity_key(id_type: str, number: str) -> str:
    """Who a canonical, valid number identifies, as the text behind the keyed hash."""
    kind = kind_of(id_type)
    return f"{kind.value}:{number[: kind.holder_length]}"


def mask_document(id_type: str, number: str) -> str:
    """What staff compare with the document in the visitor's hand, and nothing more: its
    kind's mask (``reservations.privacy.masking``), the strictest for an unknown kind."""
    kind = _KINDS.get(id_type)
    return kind.mask(number) if kind else mask_at_most_a_third(number)


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
