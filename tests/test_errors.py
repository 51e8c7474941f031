"""Domain errors' messages are catalog entries: the Chinese is the msgid, every other
language's text comes from its ``errors`` catalog; each error may name its request field."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from datetime import date

import pytest

import reservations
from reservations import languages
from reservations.booking import identities
from reservations.booking.errors import ConsentRequired, InvalidIdNumber, InvalidPhone
from reservations.errors import DomainError, ValidationFailed, field_error
from reservations.web import i18n

TRANSLATED = [language.code for language in languages.LANGUAGES if not language.source]


def _error_classes() -> list[type[DomainError]]:
    for module in pkgutil.walk_packages(reservations.__path__, "reservations."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)

    def below(cls: type[DomainError]) -> Iterator[type[DomainError]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    found = [DomainError, *below(DomainError)]
    return [cls for cls in found if cls.__module__.startswith("reservations.")]


def _msgids() -> dict[str, str]:
    """Every message an error can show, by msgid, with the class that shows it."""
    msgids = {}
    for cls in _error_classes():
        msgids[cls.msgid] = cls.__qualname__
        for problem in getattr(cls, "PROBLEMS", {}).values():
            msgids[problem] = f"{cls.__qualname__} (a problem)"
    return msgids


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_error_message_has_an_entry_in_the_errors_catalog(language: str) -> None:
    catalog = i18n.area_catalogs(language).get(i18n.ERRORS, {})
    untranslated = {msgid: owner for msgid, owner in _msgids().items() if msgid not in catalog}
    assert untranslated == {}
    unused = set(catalog) - set(_msgids())
    assert unused == set()


def test_messages_in_each_language() -> None:
    error = ValidationFailed()
    assert error.message("zh") == "提交的内容有误，请检查后重试。"
    assert error.message("en") == "Some fields are missing or invalid."
    # A language the museum does not speak gets the source language.
    assert error.message("xx") == "提交的内容有误，请检查后重试。"
    # Whatever the page around it speaks.
    with i18n.speaking("en", area="visitor"):
        assert error.message("zh") == "提交的内容有误，请检查后重试。"


def test_errors_catalog_keeps_to_errors() -> None:
    # The same Chinese reads differently on the booking form than in an API answer.
    wording = "提交的内容有误，请检查后重试。"
    with i18n.speaking("en", area="waitlist"):
        on_a_page = i18n.gettext(wording)
    assert on_a_page == i18n.area_catalogs("en")["visitor"][wording]
    assert on_a_page != ValidationFailed().message("en")


def test_a_sharper_message_by_problem() -> None:
    error = InvalidIdNumber("visitors.0.id_number", "birth_date")
    assert error.message("zh") == "身份证号码中的出生日期（第7至14位）不是有效的日期。"
    assert error.message("en").startswith("The birth date in the resident ID")
    assert InvalidIdNumber("id_number", "format").message("en") == (
        "The document number is not valid for its document type."
    )


def test_errors_name_their_field_and_details_stay_as_they_were() -> None:
    with pytest.raises(InvalidPhone) as phone:
        identities.phone("12345", field="leader.phone")
    assert phone.value.field == "leader.phone"
    assert phone.value.details == {"field": "leader.phone"}

    with pytest.raises(InvalidIdNumber) as document:
        identities.document("resident_id", "110101199003071234", date(2027, 3, 1), "visitors")
    assert document.value.field == "visitors"
    assert document.value.details == {"field": "visitors", "problem": "check_character"}

    refused = field_error("slots.2.start", "overlaps")
    assert refused.field == "slots.2.start"
    assert refused.details == {"fields": [{"field": "slots.2.start", "problem": "overlaps"}]}

    assert ConsentRequired().field == "consent"
    guardian = ConsentRequired({"consent": "guardian"}, field="guardian_consent")
    assert (guardian.field, guardian.details) == ("guardian_consent", {"consent": "guardian"})
    assert DomainError().field is None
