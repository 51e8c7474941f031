"""Staff and admin accounts: Argon2id password hashes, bearer tokens and page sessions.

Signing in is ``reservations.accounts.signin``.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, text
from sqlmodel import Session, col, select

from reservations import clock
from reservations.accounts import passwords
from reservations.accounts.errors import UsernameTaken
from reservations.accounts.models import ADMIN, ROLE_RANK, AccessToken, User
from reservations.dbtypes import UTCDateTime
from reservations.errors import Forbidden, Unauthorized, field_error
from reservations.settings import get_settings

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    role: str

    def at_least(self, role: str) -> bool:
        return ROLE_RANK.get(self.role, 0) >= ROLE_RANK[role]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise field_error("password", f"at least {MIN_PASSWORD_LENGTH} characters")


def create_user(session: Session, username: str, password: str, role: str) -> User:
    if role not in ROLE_RANK:
        raise field_error("role", "staff or admin")
    check_password_strength(password)
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise UsernameTaken()
    now = clock.now()
    user = User(
        username=username,
        password_hash=passwords.hash_password(password),
        role=role,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    return user


def ensure_first_admin(session: Session) -> User | None:
    """Create the admin named in the environment when no admin exists yet."""
    settings = get_settings()
    if not settings.admin_username or settings.admin_password is None:
        return None
    if session.exec(select(User.id).where(User.role == "admin")).first() is not None:
        return None
    return create_user(
        session, settings.admin_username, settings.admin_password.get_secret_value(), "admin"
    )


def issue_token(session: Session, user: User, kind: str = "bearer") -> tuple[str, AccessToken]:
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    now = clock.now()
    record = AccessToken(
        token_hash=_token_hash(token),
        user_id=user.id,
        kind=kind,
        csrf_token=secrets.token_urlsafe(24) if kind == "session" else None,
        created_at=now,
        expires_at=now + timedelta(minutes=get_settings().token_ttl_minutes),
    )
    session.add(record)
    session.flush()
    return token, record


_RESOLVE = (
    text(
        """
    SELECT u.id, u.username, u.role, t.expires_at
      FROM access_token AS t JOIN app_user AS u ON u.id = t.user_id
     WHERE t.token_hash = :token_hash AND t.kind = :kind AND t.expires_at > :now
       AND NOT u.disabled AND u.password_changed_at <= t.created_at
    """
    )
    .bindparams(bindparam("now", type_=UTCDateTime()))
    .columns(expires_at=UTCDateTime())
)


def resolve(session: Session, token: str | None, kind: str = "bearer") -> Principal:
    """Who holds this token: one query."""
    if not token:
        raise Unauthorized()
    token_hash = _token_hash(token)
    row = (
        session.connection()
        .execute(_RESOLVE, {"token_hash": token_hash, "kind": kind, "now": clock.now()})
        .first()
    )
    if row is None:
        raise Unauthorized()
    principal = Principal(row.id, row.username, row.role)
    if kind == "bearer":
        bearers.remember(token_hash, principal, row.expires_at)
    return principal


class KnownBearers:
    """Bearer tokens this process resolved at most ``MAX_AGE`` seconds ago.

    A gate scans a ticket every second or so, each time with its token: asking the
    database who holds it every time would cost a read and a trip to a thread per scan.
    A token is trusted here for at most ``MAX_AGE`` (and never past its expiry), so signing
    a user out everywhere, disabling them or resetting their password takes effect in every
    process within that time; in the process that did it, at once.
    """

    MAX_AGE = 1.0
    MAX_KEPT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[Principal, datetime, float]] = {}

    def find(self, token: str) -> Principal | None:
        """Who holds ``token``, if this process learnt it recently enough; else None."""
        known = self._known.get(_token_hash(token))
        if known is None:
            return None
        principal, expires_at, learnt_at = known
        if clock.monotonic() - learnt_at >= self.MAX_AGE or clock.now() >= expires_at:
            return None
        return principal

    def remember(self, token_hash: str, principal: Principal, expires_at: datetime) -> None:
        with self._lock:
            if len(self._known) >= self.MAX_KEPT:
                self._known.clear()
            self._known[token_hash] = (principal, expires_at, clock.monotonic())

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            self._known = {
                token_hash: known
                for token_hash, known in self._known.items()
                if known[0].user_id != user_id
            }

    def forget_token(self, token: str) -> None:
        with self._lock:
            self._known.pop(_token_hash(token), None)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


bearers = KnownBearers()


def require(principal: Principal, role: str) -> Principal:
    if not principal.at_least(role):
        raise Forbidden()
    return principal


def revoke(session: Session, token: str) -> None:
    session.connection().execute(
        delete(AccessToken).where(col(AccessToken.token_hash) == _token_hash(token))
    )
    bearers.forget_token(token)


# --- administering accounts (the admin console records each action in the audit trail) ---


def list_users(session: Session) -> list[User]:
    # "admin" sorts before "staff": admins first, then by name.
    return list(session.exec(select(User).order_by(col(User.role), col(User.username))))


def find_user(session: Session, username: str, *, lock: bool = False) -> User | None:
    statement = select(User).where(User.username == username)
    if lock:
        statement = statement.with_for_update()
    return session.exec(statement).first()


def lock_active_admins(session: Session) -> int:
    """Lock every active admin's row and count them: the last-admin guard.

    One lock over all admins, taken before any single account's row and always in the same
    order, so two admins disabling each other at the same instant are serialised (the
    second sees the first's change once it commits, even under READ COMMITTED) and never
    deadlock. SQLite's write lock serialises them anyway.
    """
    statement = (
        select(User.id)
        .where(User.role == ADMIN, col(User.disabled).is_(False))
        .order_by(col(User.id))
        .with_for_update()
    )
    return len(list(session.exec(statement)))


def revoke_all(session: Session, user: User) -> None:
    """End every token and page session of ``user`` at once."""
    session.connection().execute(delete(AccessToken).where(col(AccessToken.user_id) == user.id))
    assert user.id is not None
    bearers.forget_user(user.id)


def set_disabled(session: Session, user: User, disabled: bool) -> bool:
    """Disable or enable; a disabled user's tokens are gone, not merely refused. True if changed."""
    if user.disabled == disabled:
        return False
    user.disabled = disabled
    session.add(user)
    session.flush()
    if disabled:
        revoke_all(session, user)
    return True


def reset_password(session: Session, user: User, password: str) -> None:
    """Set a new password and sign the user out everywhere."""
    check_password_strength(password)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = clock.now()
    session.add(user)
    session.flush()
    # Tokens issued in the same instant as the change would pass the password_changed_at
    # check in resolve(); deleting them leaves no doubt.
    revoke_all(session, user)
