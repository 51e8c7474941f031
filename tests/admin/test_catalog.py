"""Every text of the console has its English, with the same placeholders."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from reservations.privacy.documents import DOCUMENT_KINDS
from reservations.rules.channels import CHANNELS
from reservations.web import i18n
from tests.conftest import REPO

_QUOTED = r'\(\s*"((?:[^"\\]|\\.)+)"'


def console_messages() -> set[str]:
    found: set[str] = set()
    for path in (REPO / "templates" / "admin").glob("*.html"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"_" + _QUOTED, text))
        found |= set(re.findall(r"_\(\s*'((?:[^'\\]|\\.)+)'", text))
    for path in (REPO / "reservations" / "admin").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"N_" + _QUOTED, text))
        found |= set(re.findall(r"translate" + _QUOTED, text))
    found |= {kind.name for kind in DOCUMENT_KINDS}  # the console's names of documents
    for channel in CHANNELS:  # and of channels
        found |= {channel.label, channel.short, channel.quota_label}
    return found


def test_every_console_message_has_its_english() -> None:
    messages = console_messages()
    assert len(messages) > 250  # the extraction itself works
    english = i18n.catalogs()["en"]
    missing = sorted(message for message in messages if message not in english)
    assert missing == []


def test_translations_keep_their_placeholders() -> None:
    with (REPO / "templates" / "locale" / "en" / "admin.po").open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = sorted(re.findall(r"%\(\w+\)s", source))
        for form in forms:
            assert sorted(re.findall(r"%\(\w+\)s", form)) == wanted, message.id
            assert form.strip(), message.id
