"""Translations for pages and messages: Simplified Chinese is the source language, English
comes from gettext catalogs (``templates/locale/en/*.po``, one per area of the product)."""

from __future__ import annotations

import threading
from contextvars import ContextVar

from babel.messages.pofile import read_po

from reservations import resources

LANGUAGES = ("zh", "en")
current_language: ContextVar[str] = ContextVar("current_language", default="zh")

_lock = threading.Lock()
_catalogs: dict[str, dict[str, str]] | None = None


def _load() -> dict[str, dict[str, str]]:
    catalogs: dict[str, dict[str, str]] = {}
    root = resources.templates_dir() / "locale"
    for language in LANGUAGES:
        merged: dict[str, str] = {}
        for path in sorted((root / language).glob("*.po")) if (root / language).is_dir() else []:
            with path.open("rb") as handle:
                catalog = read_po(handle)
            for message in catalog:
                if message.id and message.string and isinstance(message.id, str):
                    merged[message.id] = str(message.string)
        catalogs[language] = merged
    return catalogs


def catalogs() -> dict[str, dict[str, str]]:
    global _catalogs
    with _lock:
        if _catalogs is None:
            _catalogs = _load()
        return _catalogs


def gettext(message: str, **variables: object) -> str:
    """Translate into the current language; ``%(name)s`` placeholders are filled in after."""
    language = current_language.get()
    translated = catalogs().get(language, {}).get(message, message) if language != "zh" else message
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, count: int, **variables: object) -> str:
    chosen = singular if count == 1 or current_language.get() == "zh" else plural
    return gettext(chosen, num=count, **variables)


_ = gettext
