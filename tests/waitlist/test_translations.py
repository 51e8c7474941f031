"""Every text of the waiting list's pages and messages has its English, and agrees with the
other catalogs."""

from __future__ import annotations

import ast
import re

from reservations.waitlist import admin_pages
from reservations.web.templating import environment
from tests.conftest import REPO
from tests.visitor.test_translations import LOCALE, read_catalog


def source_messages() -> set[str]:
    found: set[str] = set()
    env = environment()
    for template in (REPO / "templates" / "waitlist").glob("*.html"):
        for _line, _function, message in env.extract_translations(template.read_text()):
            text = message[0] if isinstance(message, tuple) else message
            if text:  # None: a message looked up from a value (the admin page's labels)
                found.add(text)
    for module in (REPO / "reservations" / "waitlist").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("Msg", "Plural", "_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    # The admin page's words, translated where the page shows them.
    found.update(admin_pages.STATUS_LABELS.values())
    return found


def test_every_waiting_list_message_is_translated_in_its_own_catalog() -> None:
    english = read_catalog(LOCALE / "waitlist.po")
    missing = sorted(source_messages() - set(english))
    assert not missing, missing


def test_placeholders_survive_translation() -> None:
    for msgid, msgstr in read_catalog(LOCALE / "waitlist.po").items():
        wanted = set(re.findall(r"%\((\w+)\)s", msgid))
        # A counted message may leave out the count in its singular ("every minute").
        for form in msgstr.split(" | "):
            assert set(re.findall(r"%\((\w+)\)s", form)) <= wanted, msgid
        assert wanted <= set(re.findall(r"%\((\w+)\)s", msgstr)), msgid


def test_words_shared_with_the_visitor_pages_read_the_same() -> None:
    # The waiting list's pages stand between the visitor's pages (same layout, same
    # navigation, same form): a message they share must have one English text.
    mine = read_catalog(LOCALE / "waitlist.po")
    for other in ("visitor.po", "common.po"):
        theirs = read_catalog(LOCALE / other)
        clashes = {k: (v, theirs[k]) for k, v in mine.items() if k in theirs and theirs[k] != v}
        assert not clashes, (other, clashes)
