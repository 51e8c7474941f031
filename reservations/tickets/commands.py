"""``reservations keys list | rotate | retire KID``: the ticket signing keys.

Rotating adds a key that signs new tickets from then on; older keys keep verifying the
tickets they signed until retired. Retiring a key makes every ticket it signed invalid at
the gate, so the command refuses while such tickets can still be used (``--force`` to
retire a leaked key anyway). Running services pick up changes within a second.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from reservations import clock, db
from reservations.tickets.models import Ticket, TicketStatus, UseState
from reservations.tickets.signing import Keyring, get_keyring


def add_key_commands(commands: Any) -> None:
    """Register ``keys`` on the ``reservations`` command's subparsers."""
    keys = commands.add_parser("keys", help="list, rotate or retire the ticket signing keys")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    listing = actions.add_parser("list", help="every key, its state and the live tickets it signed")
    listing.set_defaults(handler=_list)
    rotate = actions.add_parser("rotate", help="create a new signing key; older keys still verify")
    rotate.set_defaults(handler=_rotate)
    retire = actions.add_parser("retire", help="stop trusting a key: its tickets become invalid")
    retire.add_argument("kid", help="the key id, as `keys list` shows it")
    retire.add_argument(
        "--force",
        action="store_true",
        help="retire even though unused tickets it signed are still valid (a leaked key)",
    )
    retire.set_defaults(handler=_retire)


def _prepared() -> Keyring:
    from reservations.bootstrap import prepare

    # Never move a rehearsal's clock back: only bring schema, rules and keys up to date.
    prepare(reset_clock=False)
    return get_keyring()


def live_tickets(session: Session, kid: str, today: date) -> tuple[int, date | None]:
    """Valid, unused tickets signed by ``kid`` for today or later, and the last such day."""
    statement = select(func.count(), func.max(col(Ticket.day))).where(
        col(Ticket.kid) == kid,
        col(Ticket.status) == TicketStatus.VALID,
        col(Ticket.use_state) == UseState.UNUSED,
        col(Ticket.day) >= today,
    )
    count, last_day = session.exec(statement).one()
    return int(count), last_day


def _list(_args: argparse.Namespace) -> int:
    keyring = _prepared()
    signing = keyring.active()
    today = clock.today()
    print(f"{'KID':<10} {'STATE':<10} {'CREATED':<17} LIVE TICKETS")
    with db.transaction(write=False) as session:
        for key in keyring.all_keys():
            state = (
                "retired"
                if key.retired
                else "signing"
                if signing is not None and key.kid == signing.kid
                else "verifying"
            )
            count, last_day = live_tickets(session, key.kid, today)
            until = f" (until {last_day.isoformat()})" if last_day is not None else ""
            created = key.created[:16].replace("T", " ")
            print(f"{key.kid:<10} {state:<10} {created:<17} {count}{until}")
    return 0


def _rotate(_args: argparse.Namespace) -> int:
    keyring = _prepared()
    previous = keyring.active()
    key = keyring.rotate()
    print(f"new signing key {key.kid}")
    if previous is not None:
        print(f"{previous.kid} keeps verifying the tickets it signed until it is retired")
    return 0


def _retire(args: argparse.Namespace) -> int:
    keyring = _prepared()
    kid = args.kid.strip().upper()
    key = keyring.get(kid)
    if key is None:
        print(f"no key {kid}; see `reservations keys list`")
        return 2
    if key.retired:
        print(f"{kid} is already retired")
        return 0
    signing = keyring.active()
    if signing is not None and signing.kid == kid:
        print(f"{kid} signs new tickets: run `reservations keys rotate` first, then retire it")
        return 1
    with db.transaction(write=False) as session:
        count, last_day = live_tickets(session, kid, clock.today())
    if count and not args.force:
        assert last_day is not None
        print(
            f"{count} unused tickets signed by {kid} are still valid (the last for "
            f"{last_day.isoformat()}); retiring it now would turn them away at the gate. "
            "Retire it after that day, or use --force for a leaked key."
        )
        return 1
    keyring.retire(kid)
    print(
        f"retired {kid}" + (f"; {count} unused tickets it signed are now invalid" if count else "")
    )
    return 0
