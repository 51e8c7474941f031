"""Backups of the embedded database, and restoring one.

A backup is one owner-only archive (``.tar.gz``) holding:

- ``reservations.sqlite3``: a copy made with SQLite's online backup API in a single step,
  so it is the database exactly as committed at one instant, while the service keeps
  taking bookings (in WAL mode the copy's read blocks no writer);
- ``signing-keys/``: the ticket signing keys, without which no gate accepts the tickets;
- ``master.key``, the key that encrypts the visitors' personal data, **only when asked**
  (``--with-data-key``): an archive with it is the personal data in clear to whoever holds
  it. Without it, restoring needs the key from elsewhere (the data directory's
  ``master.key`` or ``RESERVATIONS_SECRET_KEY``);
- ``manifest.json``: when, which schema, how many bookings, and a fingerprint of the data
  key (never the key) so a restore refuses a key that cannot read the data.

On PostgreSQL the database is dumped with PostgreSQL's own tools (``pg_dump``, see the
README); the archive then holds the keys and the manifest only.

A restore runs while the service is stopped (``reservations serve`` holds a lock on the
data directory that restore cannot take while it runs). It keeps a copy of the database
it replaces, adds the archive's signing keys to those present, and puts the data key back
when the archive has it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from reservations import clock
from reservations.privacy.vault import MASTER_KEY_FILE
from reservations.rehearsal import separation
from reservations.settings import Settings
from reservations.tickets.signing import KEY_DIR

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE = "reservations.sqlite3"
ARCHIVE_PREFIX = "reservations-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
SERVICE_LOCK = "service.lock"


class BackupRefused(RuntimeError):
    """A backup or restore that must not go ahead, with what to do instead."""


# --- the service is running ---------------------------------------------------------------

_held: list[int] = []


def hold_service_lock(data_dir: Path) -> None:
    """Mark the data directory as served by this process until it exits (shared: several
    servers may serve one directory; restore needs it exclusively)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(data_dir / SERVICE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    _held.append(descriptor)


@contextlib.contextmanager
def _service_stopped(data_dir: Path) -> Any:
    descriptor = os.open(data_dir / SERVICE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupRefused(
                "the service is running on this data directory: stop it (every "
                "`reservations serve`), then restore"
            ) from None
        yield
    finally:
        os.close(descriptor)


# --- the data key ---------------------------------------------------------------------------


def key_fingerprint(master: bytes) -> str:
    """Tells data keys apart without revealing anything of them."""
    return hmac.new(master, b"reservations backup: data key", hashlib.sha256).hexdigest()[:16]


def _key_in_use(settings: Settings) -> bytes | None:
    """The data key the service reads personal data with, or None if it has none yet
    (never creates one)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.data_dir / MASTER_KEY_FILE
    if path.is_file():
        import base64

        return base64.b64decode(path.read_bytes())
    return None


# --- making a backup ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    manifest: dict[str, Any]

    @property
    def has_database(self) -> bool:
        return bool(self.manifest.get("database"))

    @property
    def has_data_key(self) -> bool:
        return bool(self.manifest.get("data_key_included"))


def default_name(at: datetime) -> str:
    return f"{ARCHIVE_PREFIX}{at.strftime('%Y%m%d-%H%M%S')}{ARCHIVE_SUFFIX}"


def _target(settings: Settings, path: Path | None, at: datetime) -> Path:
    if path is None:
        return settings.backup_path / default_name(at)
    if path.is_dir():
        return path / default_name(at)
    return path


def copy_database(source: str, target: Path) -> None:
    """SQLite's online backup in one step: the database as committed at one instant."""
    if not Path(source).is_file():
        raise BackupRefused("there is no database to copy yet: start the service once first")
    origin = sqlite3.connect(source)
    copy = sqlite3.connect(target)
    try:
        origin.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        origin.close()
    os.chmod(target, 0o600)


def describe_database(path: Path) -> dict[str, Any]:
    """The copy checked and counted: it must be sound before anybody relies on it."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise BackupRefused("the database copy failed SQLite's integrity check")
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        bookings = connection.execute("SELECT count(*) FROM booking").fetchone()[0]
    finally:
        connection.close()
    return {"schema_revision": revision[0] if revision else None, "bookings": int(bookings)}


def make_backup(settings: Settings, path: Path | None = None, *, with_data_key: bool) -> Backup:
    """Write a backup archive (see the module); the archive's path and manifest."""
    taken_at = clock.now()
    target = _target(settings, path, taken_at)
    target.parent.mkdir(parents=True, exist_ok=True)
    embedded = settings.is_sqlite
    master = _key_in_use(settings)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "taken_at": taken_at.isoformat(),
        "database": DATABASE if embedded else None,
        "database_kind": "sqlite" if embedded else "postgresql",
        "data_key_fingerprint": key_fingerprint(master) if master is not None else None,
        "data_key_included": False,
        "data_key_in_environment": settings.secret_key is not None,
        # Real data or a rehearsal's: the restored directory serves the same clock.
        "clock_mode": separation.directory_mode(settings.data_dir),
    }
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as work:
        folder = Path(work)
        if embedded:
            source = make_url(settings.resolved_database_url).database or ""
            copy_database(source, folder / DATABASE)
            manifest.update(describe_database(folder / DATABASE))
        if with_data_key and settings.secret_key is None and master is not None:
            manifest["data_key_included"] = True
        partial = folder / "archive.tar.gz"
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            _add_bytes(archive, MANIFEST, data)
            if embedded:
                archive.add(folder / DATABASE, arcname=DATABASE)
            keys = settings.data_dir / KEY_DIR
            if keys.is_dir():
                for key in sorted(keys.glob("*.json")):
                    archive.add(key, arcname=f"{KEY_DIR}/{key.name}")
            if manifest["data_key_included"]:
                archive.add(settings.data_dir / MASTER_KEY_FILE, arcname=MASTER_KEY_FILE)
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    return Backup(target, manifest)


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(clock.now().timestamp())
    archive.addfile(info, io.BytesIO(data))


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` archives named as the daily job names them."""
    archives = sorted(directory.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}"))
    removed = archives[:-keep] if keep > 0 else archives
    for old in removed:
        old.unlink(missing_ok=True)
    return removed


def run_daily(settings: Settings) -> dict[str, Any]:
    """The scheduled backup: a new archive in the backup directory, the oldest removed."""
    made = make_backup(settings, None, with_data_key=False)
    removed = prune(made.path.parent, settings.backup_keep)
    return {
        "archive": made.path.name,
        "bytes": made.path.stat().st_size,
        "database": made.manifest["database_kind"],
        "bookings": made.manifest.get("bookings"),
        "removed": len(removed),
    }


# --- restoring ------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path, "r:gz") as archive:
            member = archive.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError):
        raise BackupRefused(f"{path.name} is not a backup made by `reservations backup`") from None
    if manifest.get("format") != FORMAT:
        found = manifest.get("format")
        raise BackupRefused(f"{path.name} was made by another release (format {found})")
    return manifest


def _allowed(name: str) -> bool:
    if name in (MANIFEST, DATABASE, MASTER_KEY_FILE):
        return True
    folder, _, file = name.partition("/")
    return folder == KEY_DIR and file.endswith(".json") and "/" not in file and ".." not in file


@dataclass(frozen=True, slots=True)
class Restored:
    manifest: dict[str, Any]
    database: bool
    keys_added: list[str]
    data_key_restored: bool
    previous_database: Path | None


def restore(settings: Settings, path: Path) -> Restored:
    """Put the archive's database and keys in place of the data directory's (see the
    module); refuse, changing nothing, when that cannot end well."""
    manifest = read_manifest(path)
    has_database = bool(manifest.get("database"))
    if has_database and not settings.is_sqlite:
        raise BackupRefused(
            "this backup holds an embedded SQLite database, but the service is set up for "
            "PostgreSQL (RESERVATIONS_DATABASE_URL); restore PostgreSQL with pg_restore"
        )
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    with (
        _service_stopped(data_dir),
        tempfile.TemporaryDirectory(dir=data_dir, prefix=".restore-") as work,
    ):
        folder = Path(work)
        with tarfile.open(path, "r:gz") as archive:
            members = [m for m in archive.getmembers() if m.isfile() and _allowed(m.name)]
            archive.extractall(folder, members=members, filter="data")
        _check_key(settings, manifest, folder / MASTER_KEY_FILE)
        previous = None
        if has_database:
            describe_database(folder / DATABASE)
            previous = _replace_database(settings, folder / DATABASE)
        added = _add_keys(folder / KEY_DIR, data_dir / KEY_DIR)
        mode = manifest.get("clock_mode")
        if mode and not (data_dir / separation.MARK_FILE).exists():
            (data_dir / separation.MARK_FILE).write_text(f"{mode}\n")
        key_restored = _put_back_data_key(folder / MASTER_KEY_FILE, data_dir / MASTER_KEY_FILE)
    return Restored(manifest, has_database, added, key_restored, previous)


def _check_key(settings: Settings, manifest: dict[str, Any], archived_key: Path) -> None:
    wanted = manifest.get("data_key_fingerprint")
    if wanted is None:
        return  # the service had no data key yet: there is no personal data to read
    if settings.secret_key is not None:
        key: bytes | None = settings.secret_key.get_secret_value().encode()
    elif archived_key.is_file():
        import base64

        key = base64.b64decode(archived_key.read_bytes())
    else:
        key = _key_in_use(settings)
    if key is None:
        raise BackupRefused(
            "this backup does not hold the data key, and there is none here: put the old "
            f"data directory's {MASTER_KEY_FILE} into {settings.data_dir}, or set "
            "RESERVATIONS_SECRET_KEY as the service had it, then restore again"
        )
    if not hmac.compare_digest(key_fingerprint(key), str(wanted)):
        raise BackupRefused(
            "the data key here is not the one this backup's personal data was encrypted "
            "with: nothing was changed. Use the data key of the service that made the backup "
            f"({MASTER_KEY_FILE} or RESERVATIONS_SECRET_KEY)"
        )


def _replace_database(settings: Settings, restored: Path) -> Path | None:
    current = Path(make_url(settings.resolved_database_url).database or "")
    previous = None
    if current.is_file():
        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        previous = current.with_name(f"{current.name}.before-restore-{stamp}")
        # Through SQLite, so what only its write-ahead log held is kept too.
        copy_database(str(current), previous)
    for leftover in (current, Path(f"{current}-wal"), Path(f"{current}-shm")):
        leftover.unlink(missing_ok=True)
    os.chmod(restored, 0o600)
    os.replace(restored, current)
    return previous


def _add_keys(archived: Path, present: Path) -> list[str]:
    """Keys the directory lacks come back; keys present (newer rotations) stay."""
    if not archived.is_dir():
        return []
    present.mkdir(parents=True, exist_ok=True)
    os.chmod(present, 0o700)
    added = []
    for key in sorted(archived.glob("*.json")):
        if not (present / key.name).exists():
            shutil.copy2(key, present / key.name)
            os.chmod(present / key.name, 0o600)
            added.append(key.stem)
    return added


def _put_back_data_key(archived: Path, present: Path) -> bool:
    if not archived.is_file():
        return False
    if present.is_file():
        if present.read_bytes() == archived.read_bytes():
            return False
        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        os.replace(present, present.with_name(f"{present.name}.before-restore-{stamp}"))
    shutil.copy2(archived, present)
    os.chmod(present, 0o600)
    return True
