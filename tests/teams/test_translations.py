"""Every Chinese text of the team pages has its English translation."""

from __future__ import annotations

import re
from pathlib import Path

from reservations.privacy.documents import DOCUMENT_KINDS
from reservations.web import i18n

REPO = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((REPO / "templates" / "teams").glob("*.html")),
    REPO / "reservations" / "teams" / "pages.py",
]
MSGID = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
# Messages the form parser raises, translated by the page when it shows them.
FORM_PROBLEM = re.compile(
    r'FormProblem\([^"]*"[a-z_]+",\s*"([^"]+)"|"([^"]*[\u4e00-\u9fff][^"]*)"\) from'
)


def msgids() -> set[str]:
    found = set()
    for source in SOURCES:
        for match in MSGID.finditer(source.read_text(encoding="utf-8")):
            found.add(match[1] if match[1] is not None else match[2])
    forms = (REPO / "reservations" / "teams" / "forms.py").read_text(encoding="utf-8")
    for match in FORM_PROBLEM.finditer(forms):
        found.add(match[1] or match[2])
    found |= {kind.label for kind in DOCUMENT_KINDS}  # the form's choice of document
    return found


def test_every_team_text_is_translated() -> None:
    english = i18n.catalogs()["en"]
    found = msgids()
    assert len(found) > 80
    missing = sorted(text for text in found if text not in english)
    assert missing == []


def test_placeholders_survive_translation() -> None:
    english = i18n.catalogs()["en"]
    placeholder = re.compile(r"%\((\w+)\)s")
    for text in msgids():
        assert set(placeholder.findall(text)) == set(placeholder.findall(english[text])), text
