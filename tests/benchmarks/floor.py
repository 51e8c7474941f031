"""The floor of the benchmark: the booking's work written plainly in the same stack.

A booking service of its own, written for the benchmark and importing nothing of the
service (``reservations``): FastAPI, pydantic and uvicorn, ``sqlite3`` or psycopg, one
synchronous endpoint ``POST /api/v1/bookings`` that takes the very body the service takes
(so the same wrk script drives both) and does the same work:

- the body validated (pydantic), consents, the mainland mobile phone, each document (the
  resident ID's birth date and GB 11643 check character), nobody twice in one request;
- name, phone and document sealed with AES-256-GCM, each purpose bound in as associated
  data; a keyed identity hash (HMAC-SHA256) per person; the manage token kept as its hash;
- one Ed25519-signed ticket per visitor, in the service's ticket format;
- one short transaction: the conditional counter UPDATE (``booked + n <= capacity``), the
  booking row, the visitors (whose unique claim on (identity, day) refuses a person who
  already holds that day), the tickets, commit;
- the ``201`` answer in the contract's shape; ``409 sold_out``, ``409 duplicate_visitor``
  and the ``422`` refusals in the contract's error shape.

Plus ``GET /health``. SQLite runs in WAL mode with a busy timeout, one connection per
request thread, its writers queued on a file lock; PostgreSQL through a small psycopg pool
per worker process. The counter comes first in the transaction, as a plain implementation
writes it: a refusal in the rush costs one statement and a rollback.

What it leaves out, as a floor should: rules read from the database (its days and slots
are given when it starts), bans, idempotency keys, rate limits, metrics, logs, pages.

Started by the benchmark (``start``), or by hand::

    FLOOR_DATABASE=/tmp/floor.sqlite3 FLOOR_SECRET=$(openssl rand -hex 32) \\
    FLOOR_NOW=2026-03-09T10:00:00+08:00 FLOOR_DAYS=2026-03-10 \\
    python -m tests.benchmarks.floor --prepare 2026-03-10=1000 --port 8100 --workers 2
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, LiteralString, Protocol, cast

import psycopg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tests.support import pgcluster
from tests.support.server import REPO, Server

# The museum's slots (config/museum.toml), fixed for the floor.
SLOTS = {
    "0900": ("09:00", "11:00"),
    "1100": ("11:00", "13:00"),
    "1300": ("13:00", "15:00"),
    "1500": ("15:00", "17:00"),
}
MAX_VISITORS = 5
POOL_SIZE = 10

# --- the request and the answer --------------------------------------------------------------

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Number = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
IdType = Literal["resident_id", "passport", "hk_macau_permit", "taiwan_permit"]


class VisitorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    id_type: IdType
    id_number: Number


class BookingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    day: date = Field(alias="date")
    slot_id: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    phone: Phone
    consent: bool
    visitors: Annotated[list[VisitorIn], Field(min_length=1, max_length=50)]
    email: Email | None = None
    language: Literal["zh", "en"] | None = None
    sensitive_consent: bool | None = None
    guardian_consent: bool | None = None


class SlotOut(BaseModel):
    id: str
    start: str
    end: str


class PersonOut(BaseModel):
    name: str
    id_masked: str


class TicketOut(BaseModel):
    ticket_id: str
    visitor: PersonOut
    party_size: int
    status: str
    used: bool
    qr_payload: str
    qr_png_url: str
    qr_svg_url: str


class BookingOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    reference: str
    manage_token: str
    channel: str
    status: str
    day: date = Field(serialization_alias="date")
    slot: SlotOut
    party_size: int
    phone_masked: str
    visitors: list[PersonOut]
    tickets: list[TicketOut]
    created_at: datetime


class Refused(Exception):
    """A refusal in the contract's error shape."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.details = status, code, message, details


def _error(status: int, code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status)


# --- documents, phone, masks -----------------------------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_RESIDENT_ID = re.compile(r"^[1-8][0-9]{16}[0-9X]$")
_OTHER_DOCUMENTS = {
    "passport": re.compile(r"^(E([0-9]{8}|[A-HJ-NP-Z][0-9]{7})|[A-Z0-9]{5,17})$"),
    "hk_macau_permit": re.compile(r"^[HM][0-9]{8}([0-9]{2})?$"),
    "taiwan_permit": re.compile(r"^[0-9]{8}([0-9]{2})?$"),
}
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_SEPARATORS = re.compile(r"[\s\-().]")


def _invalid_document(problem: str) -> Refused:
    return Refused(422, "invalid_id_number", "证件号码无效。", field="visitors", problem=problem)


def check_document(id_type: str, raw: str, today: date) -> str:
    """The canonical number, or why it is refused (the GB 11643 check character, a birth
    date that is a real day in the past)."""
    number = _SEPARATORS.sub("", raw).upper()
    if id_type != "resident_id":
        if not _OTHER_DOCUMENTS[id_type].match(number):
            raise _invalid_document("format")
        return number
    if not _RESIDENT_ID.match(number):
        raise _invalid_document("format")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _invalid_document("birth_date") from None
    if born > today or born.year < 1900:
        raise _invalid_document("birth_date")
    total = sum(int(digit) * weight for digit, weight in zip(number, _WEIGHTS, strict=False))
    if _CHECK[total % 11] != number[17]:
        raise _invalid_document("check_character")
    return number


def mainland_phone(raw: str) -> str:
    digits = _SEPARATORS.sub("", raw)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if not _MOBILE.match(digits):
        raise Refused(422, "invalid_phone", "手机号码无效。", field="phone")
    return digits


def mask_name(name: str) -> str:
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_document(id_type: str, number: str) -> str:
    if id_type == "resident_id":
        return number[:4] + "*" * 10 + number[-4:]
    return number[:1] + "*" * (len(number) - 3) + number[-2:]


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


# --- keys ------------------------------------------------------------------------------------


def _derive(secret: bytes, label: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"floor", info=label.encode()).derive(
        secret
    )


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


_TICKET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class Keys:
    """Every worker derives the same keys from one secret: the identity hash must agree
    between processes for the unique claim to hold."""

    def __init__(self, secret: bytes) -> None:
        self.aead = AESGCM(_derive(secret, "encryption"))
        self.index_key = _derive(secret, "index")
        self.token_key = _derive(secret, "token")
        self.signing = Ed25519PrivateKey.from_private_bytes(_derive(secret, "signing"))
        public = self.signing.public_key().public_bytes_raw()
        self.kid = _b32(hashlib.sha256(public).digest())[:8]

    def seal(self, value: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self.aead.encrypt(nonce, value.encode(), purpose.encode())
        return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()

    def keyed_hash(self, value: str, purpose: str) -> str:
        message = purpose.encode() + b"\x00" + value.encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()

    def token_hash(self, token: str) -> str:
        return hmac.new(self.token_key, token.encode(), hashlib.sha256).hexdigest()

    def ticket(self, ticket_id: str, day: date, slot_id: str) -> str:
        """``ZT1.<kid>.<ticket id>.<YYYYMMDD>.<slot>.<party size>.<signature>``, as the
        service signs its tickets."""
        body = f"ZT1.{self.kid}.{ticket_id}.{day:%Y%m%d}.{slot_id}.1"
        return f"{body}.{_b32(self.signing.sign(body.encode()))}"


# --- the database ----------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS day_counter (
    day DATE PRIMARY KEY,
    capacity INTEGER NOT NULL,
    booked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS booking (
    id {id},
    reference TEXT NOT NULL UNIQUE,
    day DATE NOT NULL,
    slot_id TEXT NOT NULL,
    status TEXT NOT NULL,
    party_size INTEGER NOT NULL,
    phone_enc TEXT NOT NULL,
    phone_hash TEXT NOT NULL,
    phone_masked TEXT NOT NULL,
    email_enc TEXT,
    language TEXT NOT NULL,
    manage_token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS booking_phone ON booking (phone_hash);
CREATE TABLE IF NOT EXISTS visitor (
    id {id},
    booking_id INTEGER NOT NULL REFERENCES booking (id),
    position INTEGER NOT NULL,
    name_enc TEXT NOT NULL,
    name_masked TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_number_enc TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    identity_hash TEXT NOT NULL,
    claim_date DATE,
    UNIQUE (identity_hash, claim_date)
);
CREATE TABLE IF NOT EXISTS ticket (
    id TEXT PRIMARY KEY,
    booking_id INTEGER NOT NULL REFERENCES booking (id),
    visitor_id INTEGER NOT NULL REFERENCES visitor (id),
    day DATE NOT NULL,
    slot_id TEXT NOT NULL,
    party_size INTEGER NOT NULL,
    qr_payload TEXT NOT NULL,
    use_state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ticket_booking ON ticket (booking_id);
"""
_SQLITE_ID = "INTEGER PRIMARY KEY"
_POSTGRES_ID = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"

_TAKE_PLACES = (
    "UPDATE day_counter SET booked = booked + ? WHERE day = ? AND booked + ? <= capacity "
    "RETURNING booked"
)
_INSERT_BOOKING = (
    "INSERT INTO booking (reference, day, slot_id, status, party_size, phone_enc, phone_hash, "
    "phone_masked, email_enc, language, manage_token_hash, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
_INSERT_VISITOR = (
    "INSERT INTO visitor (booking_id, position, name_enc, name_masked, id_type, id_number_enc, "
    "id_masked, identity_hash, claim_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
_INSERT_TICKET = (
    "INSERT INTO ticket (id, booking_id, visitor_id, day, slot_id, party_size, qr_payload, "
    "use_state) VALUES (?, ?, ?, ?, ?, ?, ?, 'unused')"
)


class Cursor(Protocol):
    def fetchone(self) -> Any: ...


class Transaction(Protocol):
    def execute(self, sql: LiteralString, parameters: Sequence[Any]) -> Cursor: ...


class AlreadyClaimed(Exception):
    """A unique constraint refused a row: a person's claim on the day, or a reference."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.reference = "reference" in what


class SqliteDatabase:
    """One connection per request thread, in WAL mode. A write transaction takes SQLite's
    write lock at once (``BEGIN IMMEDIATE``), after an exclusive ``flock`` on a file beside
    the database: the writers of every thread and process queue for it in the kernel and
    are woken when it is free, instead of sleeping and retrying in SQLite's busy handler
    (which, under load, starves some of them for seconds). The busy timeout stays as the
    backstop."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock_path = f"{path}.write-lock"
        self.local = threading.local()

    def _connection(self) -> tuple[sqlite3.Connection, int]:
        connection: sqlite3.Connection | None = getattr(self.local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA busy_timeout=30000")
            self.local.connection = connection
            # A descriptor of its own per thread: flock locks conflict between descriptors.
            self.local.lock = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        return connection, int(self.local.lock)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        connection, lock = self._connection()
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield cast(Transaction, connection)
            except sqlite3.IntegrityError as exc:
                connection.execute("ROLLBACK")
                raise AlreadyClaimed(str(exc)) from None
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def create(self, capacities: dict[date, int]) -> None:
        connection, _lock = self._connection()
        connection.executescript(_SCHEMA.format(id=_SQLITE_ID))
        for day, capacity in capacities.items():
            connection.execute(
                "INSERT INTO day_counter (day, capacity) VALUES (?, ?) "
                "ON CONFLICT (day) DO UPDATE SET capacity = excluded.capacity",
                (day.isoformat(), capacity),
            )

    def close(self) -> None:
        connection: sqlite3.Connection | None = getattr(self.local, "connection", None)
        if connection is not None:
            connection.close()
            os.close(self.local.lock)


class _PostgresTransaction:
    """The statements written for ``sqlite3`` (``?``) on a psycopg connection (``%s``)."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def execute(self, sql: LiteralString, parameters: Sequence[Any]) -> Cursor:
        return self.connection.execute(sql.replace("?", "%s"), parameters)


class PostgresDatabase:
    """A small pool of connections per worker process; psycopg prepares statements it runs
    often on each connection by itself."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.pool = ConnectionPool(url, min_size=2, max_size=pool_size, open=True)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.pool.connection() as connection:
            try:
                with connection.transaction():
                    yield _PostgresTransaction(connection)
            except psycopg.errors.UniqueViolation as exc:
                raise AlreadyClaimed(str(exc.diag.constraint_name or "")) from None

    def create(self, capacities: dict[date, int]) -> None:
        with self.pool.connection() as connection:
            for statement in _SCHEMA.format(id=_POSTGRES_ID).split(";"):
                if statement.strip():
                    connection.execute(statement)
            for day, capacity in capacities.items():
                connection.execute(
                    "INSERT INTO day_counter (day, capacity) VALUES (%s, %s) "
                    "ON CONFLICT (day) DO UPDATE SET capacity = excluded.capacity",
                    (day, capacity),
                )

    def close(self) -> None:
        self.pool.close()


def open_database(target: str) -> SqliteDatabase | PostgresDatabase:
    """``postgresql://...`` (a SQLAlchemy-style ``postgresql+psycopg://`` too), or the path of
    a SQLite file."""
    if target.startswith("postgresql"):
        return PostgresDatabase(target.replace("postgresql+psycopg://", "postgresql://", 1))
    return SqliteDatabase(target)


# --- the booking -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    database: str
    secret: bytes
    # The instant the floor books at (the benchmark's clock is frozen, as the service's).
    now: datetime
    # The days it sells; their capacities are in the database.
    days: frozenset[date]
    ready_dir: Path | None = None

    @classmethod
    def from_env(cls) -> Settings:
        ready = os.environ.get("FLOOR_READY_DIR")
        return cls(
            database=os.environ["FLOOR_DATABASE"],
            secret=bytes.fromhex(os.environ["FLOOR_SECRET"]),
            now=datetime.fromisoformat(os.environ["FLOOR_NOW"]),
            days=frozenset(
                date.fromisoformat(day) for day in os.environ["FLOOR_DAYS"].split(",") if day
            ),
            ready_dir=Path(ready) if ready else None,
        )


class Floor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keys = Keys(settings.secret)
        self.database = open_database(settings.database)

    def book(self, request: BookingIn) -> BookingOut:
        # Everything the request alone decides, before the database.
        if not request.consent or request.sensitive_consent is False:
            raise Refused(422, "consent_required", "请先同意隐私政策。", field="consent")
        slot = SLOTS.get(request.slot_id)
        if slot is None:
            raise Refused(
                422,
                "validation_error",
                "提交的内容有误。",
                fields=[{"field": "slot_id", "problem": "unknown slot"}],
            )
        today = self.settings.now.date()
        if request.day <= today or request.day not in self.settings.days:
            reason = "too_soon" if request.day <= today else "not_released"
            raise Refused(409, "booking_window", "该日期不可预约。", reason=reason)
        if len(request.visitors) > MAX_VISITORS:
            raise Refused(422, "too_many_visitors", "人数过多。", max=MAX_VISITORS)
        phone = mainland_phone(request.phone)
        keys = self.keys
        people = []
        for visitor in request.visitors:
            number = check_document(visitor.id_type, visitor.id_number, today)
            identity = keys.keyed_hash(f"{visitor.id_type}:{number}", "identity")
            people.append((visitor, number, identity))
        if len({identity for _, _, identity in people}) != len(people):
            raise Refused(409, "duplicate_visitor", "同一人不能重复预约。", within_request=True)

        # Sealed, signed and drawn before the transaction.
        day = request.day.isoformat()
        manage_token = secrets.token_urlsafe(24)
        visitors = [
            (
                keys.seal(visitor.name, "name"),
                mask_name(visitor.name),
                visitor.id_type,
                keys.seal(number, "document"),
                mask_document(visitor.id_type, number),
                identity,
            )
            for visitor, number, identity in people
        ]
        tickets = []
        for _ in people:
            ticket_id = "".join(secrets.choice(_TICKET_ALPHABET) for _ in range(12))
            tickets.append((ticket_id, keys.ticket(ticket_id, request.day, request.slot_id)))
        language = request.language or "zh"
        created_at = self.settings.now
        for _attempt in range(5):
            reference = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
            booking = (
                reference,
                day,
                request.slot_id,
                "confirmed",
                len(people),
                keys.seal(phone, "phone"),
                keys.keyed_hash(phone, "phone"),
                mask_phone(phone),
                keys.seal(request.email, "email") if request.email else None,
                language,
                keys.token_hash(manage_token),
                created_at.isoformat(),
            )
            try:
                self._write(day, request.slot_id, booking, visitors, tickets)
                break
            except AlreadyClaimed as exc:
                if not exc.reference:
                    raise Refused(409, "duplicate_visitor", "该证件当天已有预约。") from None
        else:
            raise RuntimeError("no free booking reference")

        shown = [PersonOut(name=v[1], id_masked=v[4]) for v in visitors]
        return BookingOut(
            reference=reference,
            manage_token=manage_token,
            channel="individual",
            status="confirmed",
            day=request.day,
            slot=SlotOut(id=request.slot_id, start=slot[0], end=slot[1]),
            party_size=len(people),
            phone_masked=mask_phone(phone),
            visitors=shown,
            tickets=[
                TicketOut(
                    ticket_id=ticket_id,
                    visitor=person,
                    party_size=1,
                    status="valid",
                    used=False,
                    qr_payload=payload,
                    qr_png_url=f"/api/v1/tickets/{ticket_id}/qr.png",
                    qr_svg_url=f"/api/v1/tickets/{ticket_id}/qr.svg",
                )
                for (ticket_id, payload), person in zip(tickets, shown, strict=True)
            ],
            created_at=created_at,
        )

    def _write(
        self,
        day: str,
        slot_id: str,
        booking: tuple[Any, ...],
        visitors: Sequence[tuple[str, ...]],
        tickets: list[tuple[str, str]],
    ) -> None:
        """One short transaction: the places, the booking, its visitors, its tickets."""
        with self.database.transaction() as transaction:
            places = len(visitors)
            if transaction.execute(_TAKE_PLACES, (places, day, places)).fetchone() is None:
                raise Refused(409, "sold_out", "已约满。", scope="day")
            booking_id = transaction.execute(_INSERT_BOOKING, booking).fetchone()[0]
            for position, (visitor, (ticket_id, payload)) in enumerate(
                zip(visitors, tickets, strict=True)
            ):
                visitor_id = transaction.execute(
                    _INSERT_VISITOR, (booking_id, position, *visitor, day)
                ).fetchone()[0]
                transaction.execute(
                    _INSERT_TICKET, (ticket_id, booking_id, visitor_id, day, slot_id, 1, payload)
                )


def create_app() -> FastAPI:
    """The floor's app, configured from ``FLOOR_*`` variables (one per worker process)."""
    floor = Floor(Settings.from_env())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        if floor.settings.ready_dir is not None:
            (floor.settings.ready_dir / f"ready-{os.getpid()}").touch()
        yield
        floor.database.close()

    app = FastAPI(title="The benchmark's floor", lifespan=lifespan)

    @app.exception_handler(Refused)
    async def _refused(_request: Request, exc: Refused) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(part) for part in error["loc"][1:]), "problem": error["type"]}
            for error in exc.errors()
        ]
        return _error(422, "validation_error", "提交的内容有误。", {"fields": fields})

    @app.get("/health")
    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/bookings", status_code=201)
    def create_booking(request: BookingIn) -> BookingOut:
        return floor.book(request)

    return app


# --- started by the benchmark ----------------------------------------------------------------


def environment(
    database: str, now: str, days: Sequence[date], ready_dir: Path | None = None
) -> dict[str, str]:
    """The ``FLOOR_*`` settings of a floor on ``database`` selling ``days``, with a new
    secret."""
    env = {
        "FLOOR_DATABASE": database,
        "FLOOR_SECRET": secrets.token_hex(32),
        "FLOOR_NOW": now,
        "FLOOR_DAYS": ",".join(day.isoformat() for day in days),
    }
    if ready_dir is not None:
        env["FLOOR_READY_DIR"] = str(ready_dir)
    return env


def prepare(database: str, capacities: dict[date, int]) -> None:
    """Create the floor's tables and its days' counters (before any worker starts)."""
    opened = open_database(database)
    try:
        opened.create(capacities)
    finally:
        opened.close()


def start(
    directory: Path,
    database_url: str | None,
    workers: int,
    now: str,
    capacities: dict[date, int],
    timeout: float = 120,
) -> Server:
    """The floor as ``workers`` uvicorn worker processes on a free loopback port, served as
    the service is (no access log, the same keep-alive), on ``database_url`` or on a SQLite
    file in ``directory``; returns once every worker serves."""
    directory.mkdir(parents=True, exist_ok=True)
    ready = directory / "ready"
    ready.mkdir(exist_ok=True)
    database = database_url or str(directory / "floor.sqlite3")
    prepare(database, capacities)
    port = pgcluster.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOOR_")}
    env.update(environment(database, now, sorted(capacities), ready))
    log = directory / f"floor-{port}.log"
    command = [sys.executable, "-m", "tests.benchmarks.floor", "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=REPO
    )
    server = Server(process, f"http://127.0.0.1:{port}", log, workers)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the floor exited: {log.read_text()[-2000:]}")
        pids = server.worker_pids()
        if len(pids) == workers and all((ready / f"ready-{pid}").exists() for pid in pids):
            return server
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the floor did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.floor", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--prepare",
        action="append",
        default=[],
        metavar="DAY=CAPACITY",
        help="create the tables and set a day's capacity first",
    )
    args = parser.parse_args(argv)
    if args.prepare:
        capacities = {}
        for item in args.prepare:
            day, _, capacity = item.partition("=")
            capacities[date.fromisoformat(day)] = int(capacity)
        prepare(os.environ["FLOOR_DATABASE"], capacities)
    uvicorn.run(
        "tests.benchmarks.floor:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=False,
        log_level="warning",
        access_log=False,
        timeout_worker_healthcheck=60,
        timeout_keep_alive=75,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
