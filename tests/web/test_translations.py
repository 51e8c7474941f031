"""Each area's English wins on its own pages when areas translate a word differently."""

from __future__ import annotations

from reservations.web import i18n


def test_area_catalog_wins_over_the_merged_one() -> None:
    language = i18n.current_language.set("en")
    try:
        area = i18n.current_area.set("teams")
        try:
            teams_word = i18n.gettext("待审核")
        finally:
            i18n.current_area.reset(area)
        area = i18n.current_area.set("admin")
        try:
            admin_word = i18n.gettext("待审核")
        finally:
            i18n.current_area.reset(area)
    finally:
        i18n.current_language.reset(language)
    assert teams_word == i18n.area_catalogs("en")["teams"]["待审核"]
    assert admin_word == i18n.area_catalogs("en")["admin"]["待审核"]
    assert teams_word != admin_word


def test_chinese_is_the_source_and_needs_no_catalog() -> None:
    assert i18n.gettext("待审核") == "待审核"
    assert i18n.gettext("您好，%(name)s", name="王") == "您好，王"


def test_common_words_reach_every_area() -> None:
    language = i18n.current_language.set("en")
    area = i18n.current_area.set("visitor")
    try:
        assert i18n.gettext("工作人员登录") == "Staff sign-in"
    finally:
        i18n.current_area.reset(area)
        i18n.current_language.reset(language)


def test_speaking_chooses_the_language_and_area_for_its_block_only() -> None:
    assert (i18n.current_language.get(), i18n.current_area.get()) == ("zh", "")
    with i18n.speaking("en", area="admin"):
        assert (i18n.current_language.get(), i18n.current_area.get()) == ("en", "admin")
        with i18n.speaking("zh"):
            assert (i18n.current_language.get(), i18n.current_area.get()) == ("zh", "admin")
        assert i18n.current_language.get() == "en"
    try:
        with i18n.speaking("en"):
            raise RuntimeError("a page that failed")
    except RuntimeError:
        pass
    assert (i18n.current_language.get(), i18n.current_area.get()) == ("zh", "")
