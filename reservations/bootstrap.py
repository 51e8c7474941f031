"""What a process does before it serves: schema, seeded rules, first admin, keys, clock."""

from __future__ import annotations

import gc
import logging
import os
import sys

from sqlalchemy import text
from sqlmodel import Session

from reservations import clock, db
from reservations.accounts import service as accounts
from reservations.logs import install_log_redaction
from reservations.privacy.vault import get_vault
from reservations.rehearsal import separation
from reservations.rehearsal import service as rehearsal
from reservations.rules import service as rules
from reservations.settings import get_settings
from reservations.tickets.signing import get_keyring

log = logging.getLogger("reservations")

# Set by ``reservations serve`` for its workers: the parent already prepared everything.
WORKER_ENV = "RESERVATIONS_PREPARED_BY_PARENT"
_SEED_LOCK_ID = 72_2020_1008


def prepare(*, reset_clock: bool = True) -> None:
    """Idempotent, and safe when several processes or machines start together."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    db.migrate()
    with db.transaction() as session:
        _lock_start_up(session)
        # Before the frozen clock is written anywhere: a rehearsal never touches real data.
        separation.check_and_mark(session.connection(), settings)
    if settings.fake_now is not None:
        frozen = rehearsal.FrozenClock(settings.data_dir)
        if reset_clock:
            frozen.move(settings.fake_now)
        else:
            frozen.start(settings.fake_now)
    configure_clock()
    with db.transaction() as session:
        _lock_start_up(session)
        if rules.seed(session, settings.museum_config_path):
            log.info("museum rules seeded from %s", settings.museum_config_path.name)
        if accounts.ensure_first_admin(session) is not None:
            log.info("first admin account created")
    get_vault()
    get_keyring()


def _lock_start_up(session: Session) -> None:
    """Processes and machines starting together take turns (SQLite writers queue anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(
            text("SELECT pg_advisory_xact_lock(:id)"), {"id": _SEED_LOCK_ID}
        )


def configure_clock() -> None:
    settings = get_settings()
    fake = rehearsal.FrozenClock(settings.data_dir) if settings.fake_now is not None else None
    clock.configure(settings.timezone, fake)


def configure_logging() -> None:
    """Send the service's own logs somewhere in every process (uvicorn only sets up its own
    loggers). Log records never carry personal data: see reservations.logs."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=get_settings().log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
        )
    install_log_redaction()


# How long a thread may keep Python's interpreter lock while others wait for it (Python's
# default: 5 ms). A request that holds SQLite's write lock gives up the interpreter lock
# for each statement and must win it back; with other request threads busy, each of those
# waits could last this long, the write lock with it, and every writer of every process
# behind it.
SWITCH_INTERVAL_SECONDS = 0.0005


# Container objects allocated (net) before the youngest generation is collected (Python's
# default: 700, a few requests' worth). Under load, dozens of requests are in flight at
# once, each waiting for the database with its objects alive: collected that often, they
# are promoted to the older generations, which grow until a full collection walks every
# object of the process while every request of the process waits.
GC_YOUNG_THRESHOLD = 20_000


def prepare_worker() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    configure_logging()
    if os.environ.get(WORKER_ENV) == "1":
        configure_clock()
        get_vault()
        get_keyring()
        settle_worker_memory()
    else:
        prepare()


def settle_worker_memory() -> None:
    """Once a served worker is ready: what it built to start (the app, its routes, models
    and templates, the rules) lives as long as the process, so the collector is told to stop
    walking it (``gc.freeze``: in a test process, a full collection of some 210,000 such
    objects took 360 ms on a busy machine), and collects the young generation less often."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def reset_process_state() -> None:
    """Forget every per-process cache: for tests that reconfigure the environment."""
    from reservations.accounts.service import bearers
    from reservations.booking.capacity import counters
    from reservations.booking.service import forget_calendars
    from reservations.privacy.vault import reset_vault
    from reservations.rules.service import forget_cached_rules
    from reservations.settings import reset_settings_cache
    from reservations.tickets.signing import reset_keyring

    db.dispose_engine()
    reset_settings_cache()
    reset_vault()
    reset_keyring()
    forget_cached_rules()
    forget_calendars()
    counters.reset()
    bearers.clear()
    clock.configure("Asia/Shanghai", None)
