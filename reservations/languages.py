"""The languages the museum speaks, one line each: everything that depends on the language
(negotiation, the API's ``language`` fields, the switch on every page, catalogs, dates,
messages) reads this list.

Chinese is the source language: every text in the code and templates is written in it and
is the key (the gettext ``msgid``) of its translations, which live in
``templates/locale/<code>/*.po``. Adding a language is a line here and a folder of
catalogs (and its message templates); dates, plural rules and list separators come from
Babel's data for its locale unless the line asks for a house style.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeGuard


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    """Short code: the switch's address, the ``lang`` cookie and query parameter, the API's
    ``language`` fields, the catalogs' folder, the message templates' suffix."""
    locale: str
    """Babel's locale: dates, plural rules, list separators."""
    name: str
    """The switch's label, in the language itself."""
    tag: str
    """BCP 47 tag: the pages' ``lang`` and ``hreflang``, ``Content-Language``."""
    source: bool = False
    """Texts are written in this language: it needs no catalog."""
    dates: Mapping[str, str] = field(default_factory=dict)
    """House date patterns by style (see ``web.i18n.format_day``); a style not named here
    is written as Babel's locale writes the style's skeleton."""


LANGUAGES: tuple[Language, ...] = (
    Language(
        "zh",
        "zh_Hans_CN",
        "中文",
        "zh-CN",
        source=True,
        dates={
            "long": "y年M月d日 EEEE",
            "short": "M月d日 EEE",
            "day": "M月d日",
            "weekday": "EEE",
            "letter": "y年M月d日（EEEE）",
        },
    ),
    Language(
        "en",
        "en",
        "English",
        "en",
        dates={
            "long": "EEEE, d MMMM y",
            "short": "EEE d MMM",
            "day": "d MMM",
            "weekday": "EEE",
            "letter": "EEEE d MMMM y",
        },
    ),
)

CODES: tuple[str, ...] = tuple(language.code for language in LANGUAGES)
SOURCE: Language = next(language for language in LANGUAGES if language.source)
DEFAULT = SOURCE.code
"""The language of a visitor who has not chosen one and whose browser asks for none we speak."""

_BY_CODE = {language.code: language for language in LANGUAGES}

if TYPE_CHECKING:
    LanguageCode = str
else:
    # A ``Literal`` of the codes, so that schemas validate and document them as an enum.
    LanguageCode = Literal[CODES]


def is_known(code: object) -> TypeGuard[str]:
    return isinstance(code, str) and code in _BY_CODE


def known(code: str | None) -> str:
    """``code`` when it is a language spoken here, otherwise the default (a stored booking
    may predate a language being withdrawn)."""
    return code if code is not None and code in _BY_CODE else DEFAULT


def language(code: str | None) -> Language:
    """The registry's line for ``code``, or the default language's."""
    return _BY_CODE[known(code)]


def negotiate(accept_language: str) -> str:
    """The language an ``Accept-Language`` header prefers among ours, the default if none:
    the highest quality wins, the first of equals."""
    best_language, best_quality = DEFAULT, -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        tag = tag.strip().lower()
        matched = next((code for code in CODES if tag.startswith(code)), None)
        if matched and quality > best_quality:
            best_language, best_quality = matched, quality
    return best_language
