"""The channel registry: every entry has its rules section and its texts, and the one
placement path lets only the bookers a channel names book it."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from reservations import db
from reservations.booking import identities, placement
from reservations.booking.schemas import VisitorIn
from reservations.errors import Forbidden
from reservations.rules import channels
from reservations.rules.channels import Booker, Window
from reservations.rules.schema import AheadChannelRules, ChannelRules, Rules, Slot
from reservations.web import i18n
from tests.support import people


def test_every_channel_has_its_rules_section_and_fits_its_columns() -> None:
    rules_fields = Rules.model_fields
    for channel in channels.CHANNELS:
        section = rules_fields[channel.name].annotation
        assert isinstance(section, type) and issubclass(section, ChannelRules), channel.name
        if channel.window is Window.AHEAD:
            assert issubclass(section, AheadChannelRules), channel.name
        assert channel.slot_field is None or channel.slot_field in Slot.model_fields
        assert len(channel.name) <= 16  # booking.channel, capacity_counter.channel
        assert channel.booked_by
    assert len({channel.name for channel in channels.CHANNELS}) == len(channels.CHANNELS)
    assert sum(channel.the_days_own for channel in channels.CHANNELS) == 1


def test_every_channel_speaks_english() -> None:
    english = i18n.area_catalogs("en")["channels"]
    for channel in channels.CHANNELS:
        for text in (channel.label, channel.short, channel.quota_label):
            assert english.get(text), text


def test_a_channel_only_its_bookers_may_book(client: TestClient) -> None:
    person = identities.person(VisitorIn.model_validate(people.visitor()), date(2026, 3, 9))

    def order(channel: str, booker: Booker) -> placement.Order:
        return placement.Order(
            channel=channel,
            day=date(2026, 3, 10),
            slot_id="0900",
            places=1,
            holders=[placement.Holder(person)],
            phone=None,
            email=None,
            language="zh",
            ban_checked=[person.identity_hash],
            booker=booker,
        )

    with db.transaction() as session, pytest.raises(Forbidden):
        placement.place(session, date(2026, 3, 10), lambda _rules: order("walk_in", Booker.VISITOR))
    with db.transaction() as session, pytest.raises(Forbidden):
        placement.place(session, date(2026, 3, 10), lambda _rules: order("team", Booker.STAFF))
