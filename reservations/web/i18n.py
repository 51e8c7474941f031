"""Translations for pages and messages: Simplified Chinese is the source language, English
comes from gettext catalogs (``templates/locale/en/*.po``, one per area of the product).

Counted messages (``ngettext``) take their forms from the catalog's ``msgid_plural`` entries
and choose among them with the catalog's own plural rule (Babel's ``Plural-Forms`` for the
language): "1 visitor", "2 visitors". Chinese has one form."""

from __future__ import annotations

import functools
import gettext as gnu_gettext
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.messages.pofile import read_po

from reservations import languages, resources

current_language: ContextVar[str] = ContextVar("current_language", default=languages.DEFAULT)
# The area whose page is being rendered (the first folder of its template, e.g. "admin"):
# the same short Chinese word may read differently in English from one area to another
# ("待审核" is "Pending" in a report column, "Awaiting review" to a team leader).
current_area: ContextVar[str] = ContextVar("current_area", default="")


@contextmanager
def speaking(language: str, area: str | None = None) -> Iterator[None]:
    """Translate into ``language`` inside the block (and with ``area``'s wording when
    given): the one way to choose the language outside a page's template, for messages,
    downloads, e-mail and the scanner's answers."""
    language_token = current_language.set(language)
    area_token = current_area.set(area) if area is not None else None
    try:
        yield
    finally:
        if area_token is not None:
            current_area.reset(area_token)
        current_language.reset(language_token)


# The catalog of domain errors' messages (``reservations.errors``): looked up for them
# alone, never merged with the pages' words, where the same Chinese may read differently.
ERRORS = "errors"

_lock = threading.Lock()
_catalogs: dict[str, dict[str, str]] | None = None
_by_area: dict[str, dict[str, dict[str, str]]] | None = None
_plurals: dict[str, dict[str, dict[str, Plural]]] | None = None


@dataclass(frozen=True, slots=True)
class Plural:
    """A counted message's forms in one language, and the rule that picks one."""

    forms: tuple[str, ...]
    rule: Callable[[int], int]

    def choose(self, count: int) -> str:
        return self.forms[min(max(self.rule(count), 0), len(self.forms) - 1)]


_Loaded = tuple[
    dict[str, dict[str, str]],
    dict[str, dict[str, dict[str, str]]],
    dict[str, dict[str, dict[str, Plural]]],
]


def _load() -> _Loaded:
    merged_catalogs: dict[str, dict[str, str]] = {}
    area_catalogs: dict[str, dict[str, dict[str, str]]] = {}
    plural_catalogs: dict[str, dict[str, dict[str, Plural]]] = {}
    root = resources.templates_dir() / "locale"
    for language in languages.CODES:
        merged: dict[str, str] = {}
        areas: dict[str, dict[str, str]] = {}
        counted: dict[str, dict[str, Plural]] = {}
        for path in sorted((root / language).glob("*.po")) if (root / language).is_dir() else []:
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
            rule = gnu_gettext.c2py(catalog.plural_expr)
            own = areas.setdefault(path.stem, {})
            own_counted = counted.setdefault(path.stem, {})
            for message in catalog:
                if not message.id or not message.string:
                    continue
                if isinstance(message.id, str):
                    own[message.id] = str(message.string)
                    if path.stem != ERRORS:
                        merged.setdefault(message.id, str(message.string))
                elif all(message.string):
                    # Keyed by the singular, as ngettext looks it up.
                    own_counted[message.id[0]] = Plural(tuple(message.string), rule)
        merged_catalogs[language] = merged
        area_catalogs[language] = areas
        plural_catalogs[language] = counted
    return merged_catalogs, area_catalogs, plural_catalogs


def _loaded() -> _Loaded:
    global _catalogs, _by_area, _plurals
    with _lock:
        if _catalogs is None or _by_area is None or _plurals is None:
            _catalogs, _by_area, _plurals = _load()
        return _catalogs, _by_area, _plurals


def catalogs() -> dict[str, dict[str, str]]:
    """Every area's messages merged, per language (the first catalog wins a clash)."""
    return _loaded()[0]


def area_catalogs(language: str) -> dict[str, dict[str, str]]:
    return _loaded()[1].get(language, {})


def gettext(message: str, **variables: object) -> str:
    """Translate into the current language, preferring the current area's catalog;
    ``%(name)s`` placeholders are filled in after."""
    language = current_language.get()
    translated = message
    if language != languages.SOURCE.code:
        own = area_catalogs(language).get(current_area.get(), {})
        translated = own.get(message) or catalogs().get(language, {}).get(message, message)
    return translated % variables if variables else translated


def translate(message: str, language: str, area: str | None = None) -> str:
    """``message`` in ``language``, preferring ``area``'s catalog, whatever language the
    current block speaks."""
    with speaking(language, area):
        return gettext(message)


def ngettext(singular: str, plural: str, count: int, **variables: object) -> str:
    """A counted message in the current language: its catalog's form for ``count``
    (``%(num)s`` is the count), preferring the current area's catalog. Placeholders are
    filled in when ``variables`` are given (templates fill them in themselves)."""
    language = current_language.get()
    if language == languages.SOURCE.code:
        chosen = singular
    else:
        areas = _loaded()[2].get(language, {})
        entry = areas.get(current_area.get(), {}).get(singular) or next(
            (own[singular] for own in areas.values() if singular in own), None
        )
        untranslated = singular if count == 1 else plural
        chosen = entry.choose(count) if entry is not None else untranslated
    return chosen % {"num": count, **variables} if variables else chosen


_ = gettext


# How each style of date is written in a language whose registry line names no house
# pattern for it: Babel's form of the skeleton for the language's locale.
_DATE_SKELETONS = {
    "long": "yMMMMEEEEd",  # a page's heading: the day in full
    "short": "MMMEd",  # lists and tables: day, month and weekday
    "day": "MMMd",  # day and month only
    "weekday": "EEE",
    "letter": "yMMMMEEEEd",  # messages: the day in full
}


def format_day(day: date, style: str, language: str | None = None) -> str:
    """``day`` in one of the styles above, as ``language`` (the current one by default)
    writes it."""
    spoken = languages.language(language or current_language.get())
    pattern = spoken.dates.get(style)
    if pattern is not None:
        return str(format_date(day, pattern, locale=spoken.locale))
    return str(format_skeleton(_DATE_SKELETONS[style], day, locale=spoken.locale))


def list_separator(language: str | None = None) -> str:
    """What separates the items of a list in ``language``: ``、`` or ``, ``."""
    return _separator(languages.language(language or current_language.get()).locale)


@functools.cache
def _separator(locale: str) -> str:
    middle = str(Locale.parse(locale).list_patterns["standard"]["middle"])
    return middle.replace("{0}", "").replace("{1}", "")
