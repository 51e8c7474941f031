"""Staff and admin accounts as administrators manage them: every action audited.

The audit entries name the account and what changed about it, never a password or its hash.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from reservations.accounts import service as accounts
from reservations.accounts import signin
from reservations.accounts.errors import UsernameTaken
from reservations.accounts.models import ADMIN, User
from reservations.admin.errors import CannotDisableSelf, LastActiveAdmin
from reservations.audit import service as audit
from reservations.errors import NotFound, field_error

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")


def _existing(session: Session, username: str) -> User:
    user = accounts.find_user(session, username, lock=True)
    if user is None:
        raise NotFound()
    return user


def create(session: Session, username: str, password: str, role: str, actor: str) -> User:
    if not USERNAME.match(username):
        raise field_error("username", "3 to 64 letters, digits or _ . @ -")
    try:
        with session.begin_nested():
            user = accounts.create_user(session, username, password, role)
    except IntegrityError:
        raise UsernameTaken() from None  # created by someone else in the same instant
    audit.record(
        session,
        actor=actor,
        action="user.create",
        target=username,
        before=None,
        after={"role": role, "disabled": False},
    )
    return user


def disable(session: Session, username: str, actor: str) -> User:
    if username == actor:
        raise CannotDisableSelf()
    active_admins = accounts.lock_active_admins(session)  # before the account's own row
    user = _existing(session, username)
    if user.role == ADMIN and not user.disabled and active_admins <= 1:
        raise LastActiveAdmin()
    if accounts.set_disabled(session, user, True):
        audit.record(
            session,
            actor=actor,
            action="user.disable",
            target=username,
            before={"disabled": False},
            after={"disabled": True},
        )
    return user


def enable(session: Session, username: str, actor: str) -> User:
    user = _existing(session, username)
    if accounts.set_disabled(session, user, False):
        audit.record(
            session,
            actor=actor,
            action="user.enable",
            target=username,
            before={"disabled": True},
            after={"disabled": False},
        )
    return user


def reset_password(session: Session, username: str, password: str, actor: str) -> User:
    user = _existing(session, username)
    accounts.reset_password(session, user, password)
    signin.lift(session, username)
    # What changed is recorded, not the password: only that it was set and sessions ended.
    audit.record(
        session,
        actor=actor,
        action="user.reset_password",
        target=username,
        before=None,
        after={"password": "reset", "sessions": "ended"},
    )
    return user
