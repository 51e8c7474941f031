"""Translations for pages and messages: Simplified Chinese is the source language, English
comes from gettext catalogs (``templates/locale/en/*.po``, one per area of the product)."""

from __future__ import annotations

import threading
from contextvars import ContextVar

from babel.messages.pofile import read_po

from reservations import resources

LANGUAGES = ("zh", "en")
current_language: ContextVar[str] = ContextVar("current_language", default="zh")
# The area whose page is being rendered (the first folder of its template, e.g. "admin"):
# the same short Chinese word may read differently in English from one area to another
# ("待审核" is "Pending" in a report column, "Awaiting review" to a team leader).
current_area: ContextVar[str] = ContextVar("current_area", default="")

_lock = threading.Lock()
_catalogs: dict[str, dict[str, str]] | None = None
_by_area: dict[str, dict[str, dict[str, str]]] | None = None


def _load() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, dict[str, str]]]]:
    merged_catalogs: dict[str, dict[str, str]] = {}
    area_catalogs: dict[str, dict[str, dict[str, str]]] = {}
    root = resources.templates_dir() / "locale"
    for language in LANGUAGES:
        merged: dict[str, str] = {}
        areas: dict[str, dict[str, str]] = {}
        for path in sorted((root / language).glob("*.po")) if (root / language).is_dir() else []:
            with path.open("rb") as handle:
                catalog = read_po(handle)
            own = areas.setdefault(path.stem, {})
            for message in catalog:
                if message.id and message.string and isinstance(message.id, str):
                    own[message.id] = str(message.string)
                    merged.setdefault(message.id, str(message.string))
        merged_catalogs[language] = merged
        area_catalogs[language] = areas
    return merged_catalogs, area_catalogs


def _loaded() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, dict[str, str]]]]:
    global _catalogs, _by_area
    with _lock:
        if _catalogs is None or _by_area is None:
            _catalogs, _by_area = _load()
        return _catalogs, _by_area


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
    if language != "zh":
        own = area_catalogs(language).get(current_area.get(), {})
        translated = own.get(message) or catalogs().get(language, {}).get(message, message)
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, count: int, **variables: object) -> str:
    chosen = singular if count == 1 or current_language.get() == "zh" else plural
    return gettext(chosen, num=count, **variables)


_ = gettext
