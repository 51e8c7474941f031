"""Every text of the visitor's pages has its English, and agrees with the other catalogs."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po

from reservations.web import i18n
from reservations.web.templating import environment
from tests.conftest import REPO

LOCALE = REPO / "templates" / "locale" / "en"


def read_catalog(path: Path) -> dict[str, str]:
    """msgid -> English; a counted message by its singular, its forms joined."""
    with path.open("rb") as handle:
        return {
            m.id if isinstance(m.id, str) else m.id[0]: (
                m.string if isinstance(m.string, str) else " | ".join(m.string)
            )
            for m in read_po(handle)
            if m.id and m.string
        }


def source_messages() -> set[str]:
    found: set[str] = set()
    env = environment()
    for template in (REPO / "templates" / "visitor").glob("*.html"):
        for _line, _function, message in env.extract_translations(template.read_text()):
            if message is None:  # a text from a variable: the documents' (their own catalog)
                continue
            found.add(message if isinstance(message, str) else message[0])
    for module in (REPO / "reservations" / "visitor").glob("*.py"):
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
    return found


def test_every_visitor_message_is_translated_in_its_own_catalog() -> None:
    english = read_catalog(LOCALE / "visitor.po")
    missing = sorted(source_messages() - set(english))
    assert not missing, missing


def test_placeholders_survive_translation() -> None:
    import re

    for msgid, msgstr in read_catalog(LOCALE / "visitor.po").items():
        assert set(re.findall(r"%\((\w+)\)s", msgid)) == set(re.findall(r"%\((\w+)\)s", msgstr)), (
            msgid
        )


def test_shared_messages_mean_the_same_everywhere() -> None:
    # The pages' catalogs are merged into one: a message shared with another area must have
    # one English text, or one of the two areas would show the other's wording. (The domain
    # errors' catalog is looked up for errors alone, never merged: tests/test_errors.py.)
    mine = read_catalog(LOCALE / "visitor.po")
    for other in LOCALE.glob("*.po"):
        if other.name in ("visitor.po", f"{i18n.ERRORS}.po"):
            continue
        theirs = read_catalog(other)
        clashes = {k: (v, theirs[k]) for k, v in mine.items() if k in theirs and theirs[k] != v}
        assert not clashes, (other.name, clashes)
