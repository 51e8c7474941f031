"""Every text of the desk's pages has its English, with the same placeholders."""

from __future__ import annotations

import ast
import re

from reservations.web.templating import environment
from tests.conftest import REPO
from tests.visitor.test_translations import LOCALE, read_catalog


def source_messages() -> set[str]:
    found: set[str] = set()
    env = environment()
    for template in (REPO / "templates" / "desk").glob("*.html"):
        for _line, _function, message in env.extract_translations(template.read_text()):
            text = message[0] if isinstance(message, tuple) else message
            if text:  # None: a message looked up from a value (a channel's label)
                found.add(text)
    for module in (REPO / "reservations" / "desk").glob("*.py"):
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


def test_every_desk_message_is_translated() -> None:
    # Words the desk shares with the visitor's pages read as they do there.
    english = {
        **read_catalog(LOCALE / "common.po"),
        **read_catalog(LOCALE / "visitor.po"),
        **read_catalog(LOCALE / "desk.po"),
    }
    missing = sorted(source_messages() - set(english))
    assert not missing, missing


def test_placeholders_survive_translation() -> None:
    for msgid, msgstr in read_catalog(LOCALE / "desk.po").items():
        wanted = set(re.findall(r"%\((\w+)\)s", msgid))
        for form in msgstr.split(" | "):
            assert set(re.findall(r"%\((\w+)\)s", form)) <= wanted, msgid
        assert wanted <= set(re.findall(r"%\((\w+)\)s", msgstr)), msgid
