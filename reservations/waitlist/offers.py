"""Returned places offered to the waiting list, in order of joining, each place once.

**When.** Every return of places goes through ``capacity.return_places``; the listener here
only asks, from inside the returning transaction, to be called once it has committed
(``db.after_commit``): a visitor's cancellation stays as fast as before, and the places
are offered at once, on a thread of this process (``offerer``). The job
``process-waiting-list`` runs every minute as well: it ends offers that ran out (their
places return, and go to the next person), ends entries whose day can no longer be
booked, offers whatever room a raised quota made, and discards the personal data of
entries whose day has passed.

**How.** For a day, the entries still waiting are read in the order they joined; the
first that fits the room left (its preferred slot, or the earliest slot with room for its
whole party) gets an offer: in one short transaction, a conditional update claims the
entry (``waiting`` → ``offered``) and the capacity counters take its places with the
statement bookings use, last. Two workers offering at once never offer one entry twice
(the claim) nor one place twice (the counter): the loser's transaction rolls back. The
offer holds its places until ``expires_at``: ``waiting_list.offer_minutes`` from now,
never past the day's booking window nor the slot's start. Then the visitor is told, by
SMS and e-mail both, with the private link to confirm; the channels that carried it are
recorded. (A process that stops between the offer and its message loses that message;
the offer still shows on the visitor's pages.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from reservations import clock, db, languages
from reservations.booking import capacity, identities
from reservations.booking.errors import SoldOut
from reservations.booking.models import INDIVIDUAL, WHOLE_DAY
from reservations.notifications.errors import DeliveryFailed
from reservations.notifications.messages import Message
from reservations.notifications.service import Recipient, open_notifier
from reservations.privacy.vault import DecryptionError, get_vault
from reservations.rules import service as rules_service
from reservations.rules.schema import Rules, Slot, minutes_of
from reservations.waitlist import retention, store
from reservations.waitlist.models import WaitingStatus
from reservations.web import i18n

log = logging.getLogger("reservations.waitlist")

NAME = "process-waiting-list"
TEMPLATE = "waitlist-offer"
FAILED = "failed"
# How often one entry is looked at again after others took the places it was about to get.
_RETRIES = 20

ENTRY = store.ENTRY


# --- the room a day has left ----------------------------------------------------------------


@dataclass(slots=True)
class Room:
    """Places left for individuals on a day: the day's and each slot's, slots in time order."""

    day_left: int
    slot_left: dict[str, int]
    slots: dict[str, Slot] = field(default_factory=dict)

    @classmethod
    def read(cls, connection: Connection, plan: rules_service.DayPlan, rules: Rules) -> Room:
        day = plan.day
        counts = capacity.read_counts(connection, day, day)
        ordered = sorted(rules.slots, key=lambda slot: minutes_of(slot.start))
        return cls(
            day_left=plan.daily_capacity - counts.get((day, INDIVIDUAL, WHOLE_DAY), 0),
            slot_left={
                slot.id: plan.slot_capacities[slot.id] - counts.get((day, INDIVIDUAL, slot.id), 0)
                for slot in ordered
            },
            slots={slot.id: slot for slot in ordered},
        )

    def fits(self, slot_id: str, places: int) -> bool:
        return min(self.day_left, self.slot_left.get(slot_id, 0)) >= places

    def slots_for(self, places: int, wanted: str | None = None) -> list[str]:
        """The slots (``wanted`` alone, if given) with room for ``places`` now."""
        return [
            slot_id
            for slot_id in self.slot_left
            if (wanted is None or slot_id == wanted) and self.fits(slot_id, places)
        ]

    def take(self, slot_id: str, places: int) -> None:
        self.day_left -= places
        self.slot_left[slot_id] -= places


def window_closes(rules: Rules, day: date) -> datetime:
    """The end of the last day on which ``day`` can be booked (``min_days_ahead``)."""
    last = day - timedelta(days=rules.individual.min_days_ahead)
    return clock.localize(last + timedelta(days=1), "00:00")


def first_open_day(rules: Rules, now: datetime) -> date:
    """The first visit day that can still be booked (earlier ones are too soon or past)."""
    return now.date() + timedelta(days=rules.individual.min_days_ahead)


# --- offering ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Waiting:
    id: int
    slot_id: str | None
    party_size: int


def offer_day(day: date, now: datetime) -> list[int]:
    """Offer the room ``day`` has left to its entries, in order of joining; the entries
    offered."""
    with db.transaction(write=False) as session:
        connection = session.connection()
        rules, override = rules_service.for_day(connection, day)
        if not rules.waiting_list.enabled:
            return []
        plan = rules_service.plan_day(rules, override, INDIVIDUAL, day, now)
        if plan.reason is not None:
            return []
        room = Room.read(connection, plan, rules)
        if room.day_left <= 0:
            return []
        waiting = [
            _Waiting(row.id, row.slot_id, row.party_size)
            for row in connection.execute(
                select(ENTRY.c.id, ENTRY.c.slot_id, ENTRY.c.party_size)
                .where(ENTRY.c.day == day, ENTRY.c.status == WaitingStatus.WAITING)
                .order_by(ENTRY.c.id)
            )
        ]
    made: list[int] = []
    index, retries = 0, 0
    while index < len(waiting) and room.day_left > 0:
        entry = waiting[index]
        slot = _first_fit(room, entry, rules, day, now)
        if slot is not None:
            expires = min(
                now + timedelta(minutes=rules.waiting_list.offer_minutes),
                window_closes(rules, day),
                clock.localize(day, slot.start),
            )
            try:
                if _offer(entry, slot, expires, plan, now):
                    made.append(entry.id)
                    room.take(slot.id, entry.party_size)
            except SoldOut:
                # Somebody else took places meanwhile: count again, and look at this entry
                # again while it still fits, so that nobody behind it goes first.
                with db.transaction(write=False) as session:
                    room = Room.read(session.connection(), plan, rules)
                retries += 1
                if retries <= _RETRIES:
                    continue
        index, retries = index + 1, 0
    return made


def _first_fit(room: Room, entry: _Waiting, rules: Rules, day: date, now: datetime) -> Slot | None:
    for slot_id in room.slots_for(entry.party_size, entry.slot_id):
        slot = room.slots[slot_id]
        if clock.localize(day, slot.start) > now:  # a slot under way is of no use
            return slot
    return None


def _offer(
    entry: _Waiting, slot: Slot, expires: datetime, plan: rules_service.DayPlan, now: datetime
) -> bool:
    """Claim the entry and take its places, in one short transaction. False when the entry
    is no longer waiting; SoldOut (nothing kept) when the places are gone."""
    with db.transaction() as session:
        connection = session.connection()
        claimed = store.mark_offered(
            connection,
            entry.id,
            {
                "offer_slot_id": slot.id,
                "offer_slot_start": slot.start,
                "offer_slot_end": slot.end,
                "offered_at": now,
                "offer_expires_at": expires,
                "notified_by": None,
                "updated_at": now,
            },
        )
        if not claimed:
            return False
        # Last: the counter rows every booking of the day meets, then the commit at once.
        capacity.take(
            connection,
            day=plan.day,
            channel=INDIVIDUAL,
            slot_id=slot.id,
            places=entry.party_size,
            daily_capacity=plan.daily_capacity,
            slot_capacity=plan.slot_capacities[slot.id],
        )
    log.info("waiting entry %d offered %d places in slot %s", entry.id, entry.party_size, slot.id)
    return True


# --- ending what is over ------------------------------------------------------------------


def expire_offers(now: datetime, days: Collection[date] | None = None) -> int:
    """Offers not confirmed in time end; their places return (and go to the next entry)."""
    due = select(ENTRY.c.id).where(
        ENTRY.c.status == WaitingStatus.OFFERED, ENTRY.c.offer_expires_at <= now
    )
    if days is not None:
        due = due.where(ENTRY.c.day.in_(list(days)))
    with db.transaction(write=False) as session:
        entry_ids = list(session.connection().execute(due.order_by(ENTRY.c.id)).scalars())
    expired = 0
    for entry_id in entry_ids:
        with db.transaction() as session:
            ended = store.end(
                session.connection(),
                entry_id,
                status=WaitingStatus.EXPIRED,
                now=now,
                was=(WaitingStatus.OFFERED,),
                offer_due_by=now,
            )
        expired += ended is not None
    return expired


def close_windows(now: datetime, rules: Rules) -> int:
    """Entries still waiting for a day that can no longer be booked end as expired."""
    due = select(ENTRY.c.id).where(
        ENTRY.c.status == WaitingStatus.WAITING, ENTRY.c.day < first_open_day(rules, now)
    )
    with db.transaction(write=False) as session:
        entry_ids = list(session.connection().execute(due).scalars())
    if not entry_ids:
        return 0
    with db.transaction() as session:
        connection = session.connection()
        ended = list(
            connection.execute(
                update(ENTRY)
                .where(ENTRY.c.id.in_(entry_ids), ENTRY.c.status == WaitingStatus.WAITING)
                .values(
                    status=WaitingStatus.EXPIRED,
                    ended_at=now,
                    updated_at=now,
                    manage_token_enc=None,
                )
                .returning(ENTRY.c.id)
            ).scalars()
        )
        store.free_claims(connection, ended)
    return len(ended)


# --- telling the visitor ------------------------------------------------------------------


def _moment(instant: datetime, language: str, today: date) -> str:
    local = instant.astimezone(clock.zone())
    if local.date() == today:
        return f"{local:%H:%M}"
    return f"{i18n.format_day(local.date(), 'day', language)} {local:%H:%M}"


def offer_message(entry: Any, token: str | None, now: datetime) -> Message:
    language = languages.known(entry.language)
    link = ""
    if token and entry.link_base:
        link = f"{entry.link_base}/waitlist/entry/{entry.reference}/{token}"
    values: dict[str, Any] = {
        "reference": entry.reference,
        "date": i18n.format_day(entry.day, "letter", language),
        "date_short": i18n.format_day(entry.day, "day", language),
        "slot": f"{entry.offer_slot_start}-{entry.offer_slot_end}",
        "party_size": entry.party_size,
        "expires": _moment(entry.offer_expires_at, language, now.date()),
        "link": link,
    }
    return Message(TEMPLATE, language, values, key=f"{TEMPLATE}:{entry.reference}")


def notify(entry_ids: Iterable[int]) -> dict[str, int]:
    """Tell each offered entry, by SMS and e-mail, and record how it was told."""
    wanted = list(entry_ids)
    counts = {"notified": 0, "not_delivered": 0}
    if not wanted:
        return counts
    now = clock.now()
    vault = get_vault()
    letters: list[tuple[int, Recipient, Message]] = []
    with db.transaction(write=False) as session:
        rows = session.connection().execute(
            select(ENTRY).where(ENTRY.c.id.in_(wanted), ENTRY.c.status == WaitingStatus.OFFERED)
        )
        for entry in rows:
            try:
                phone, email, token = (
                    vault.decrypt(sealed, purpose) if sealed else None
                    for sealed, purpose in (
                        (entry.phone_enc, identities.PHONE),
                        (entry.email_enc, identities.EMAIL),
                        (entry.manage_token_enc, store.SEALED_LINK),
                    )
                )
            except DecryptionError:
                log.warning("waiting entry %d: contact details do not decrypt", entry.id)
                continue
            letters.append((entry.id, Recipient(email, phone), offer_message(entry, token, now)))
    outcome: dict[int, str] = {}
    with open_notifier() as notifier:
        for entry_id, recipient, message in letters:
            try:
                outcome[entry_id] = ",".join(notifier.deliver_each(recipient, message))
                counts["notified"] += 1
            except DeliveryFailed as exc:
                log.warning("offer to waiting entry %d not delivered: %s", entry_id, exc.reason)
                outcome[entry_id] = FAILED
                counts["not_delivered"] += 1
    if outcome:
        with db.transaction() as session:
            connection = session.connection()
            for entry_id, channels in outcome.items():
                connection.execute(
                    update(ENTRY).where(ENTRY.c.id == entry_id).values(notified_by=channels)
                )
    return counts


# --- the job, and the work right after places came back ------------------------------------


def run() -> dict[str, int]:
    """``process-waiting-list``: everything due now, for every day."""
    now = clock.now()
    with db.transaction(write=False) as session:
        rules = rules_service.current(session)
    result = {
        "offers_expired": expire_offers(now),
        "entries_expired": close_windows(now, rules),
    }
    offered = []
    for day in _days_waiting(now, rules):
        offered += offer_day(day, now)
    result["offered"] = len(offered)
    result.update(notify(offered))
    result["entries_discarded"] = discard_past(now.date())
    return result


def discard_past(today: date) -> int:
    """Erase the personal data of entries whose day has passed (a read first: most minutes
    there is nothing to erase, and no write lock is taken)."""
    with db.transaction(write=False) as session:
        pending = session.connection().execute(retention.due(today).limit(1)).first()
    if pending is None:
        return 0
    with db.transaction() as session:
        return retention.erase(session.connection(), before=today)


def process_days(days: Collection[date]) -> list[int]:
    """Places came back on these days: end their offers that ran out, offer what is free,
    tell whoever got an offer."""
    now = clock.now()
    expire_offers(now, days)
    offered = []
    for day in sorted(days):
        offered += offer_day(day, now)
    notify(offered)
    return offered


def _days_waiting(now: datetime, rules: Rules) -> list[date]:
    with db.transaction(write=False) as session:
        found = session.connection().execute(
            select(ENTRY.c.day)
            .where(
                ENTRY.c.status == WaitingStatus.WAITING, ENTRY.c.day >= first_open_day(rules, now)
            )
            .distinct()
            .order_by(ENTRY.c.day)
        )
        return list(found.scalars())


class Offerer:
    """Offers the places a transaction returned as soon as it has committed, on a thread of
    its own that lives while there is work (the visitor who cancelled never waits for it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: set[date] = set()
        self._thread: threading.Thread | None = None

    def kick(self, day: date) -> None:
        with self._lock:
            self._days.add(day)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="waiting-list-offers", daemon=True
                )
                self._thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._days:
                    self._thread = None
                    return
                days, self._days = self._days, set()
            try:
                process_days(days)
            except Exception as exc:  # the job tries again within a minute
                log.error("offering returned places failed: %s", type(exc).__name__)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is being offered (shutdown, tests); False on timeout."""
        with self._lock:
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()


offerer = Offerer()


def _offer_once_committed(connection: Connection, returned: capacity.ReturnedPlaces) -> None:
    if returned.channel == INDIVIDUAL:
        db.after_commit(connection, partial(offerer.kick, returned.day))


capacity.on_places_returned(_offer_once_committed)
