"""``reservations backup``, ``reservations restore`` and ``reservations check``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from reservations.ops.backup import BackupRefused


def add_ops_commands(commands: Any) -> None:
    backup = commands.add_parser(
        "backup",
        help="copy the database (while the service runs) and the signing keys into an archive",
        description=(
            "Write an owner-only archive with a consistent copy of the embedded database, "
            "taken while the service runs, and the ticket signing keys. PATH: a file, or a "
            "directory to put a dated archive in (default: the backup directory). On "
            "PostgreSQL, dump the database with pg_dump; the archive then holds the keys."
        ),
    )
    backup.add_argument("path", nargs="?", type=Path, help="where to write the archive")
    backup.add_argument(
        "--with-data-key",
        action="store_true",
        help="also put the personal-data encryption key in the archive (read the warning)",
    )
    backup.set_defaults(handler=_backup)

    restore = commands.add_parser(
        "restore",
        help="put a backup's database and keys back (with the service stopped)",
        description=(
            "Replace the data directory's database with the archive's (the one replaced is "
            "kept beside it), add the archive's signing keys and, if it has it, its data key. "
            "Refuses while the service runs, and when the data key cannot read the backup."
        ),
    )
    restore.add_argument("path", type=Path, help="an archive made by `reservations backup`")
    restore.set_defaults(handler=_restore)

    check = commands.add_parser(
        "check",
        help="recount every capacity and occupancy counter from the records; report drift",
        description=(
            "Recount the places of every day, channel and slot from the bookings, and each "
            "day's occupancy from the tickets admitted, and report every counter that "
            "differs. Exit status 1 when there is drift. --repair sets those counters to "
            "their recount in one transaction and writes it to the audit log."
        ),
    )
    check.add_argument("--repair", action="store_true", help="correct the drifted counters")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=_check)


def _backup(args: argparse.Namespace) -> int:
    from reservations.bootstrap import configure_clock
    from reservations.ops import backup
    from reservations.settings import get_settings

    settings = get_settings()
    configure_clock()
    if args.with_data_key and settings.secret_key is None:
        print(
            "WARNING: this backup will hold the data-encryption key (master.key). Whoever has "
            "the archive can read every visitor's name, phone and document number. Keep it "
            "encrypted and apart, and delete it when it is no longer needed.",
            file=sys.stderr,
        )
    elif args.with_data_key:
        print(
            "note: the data key is RESERVATIONS_SECRET_KEY, set in the environment; it is not "
            "written into the archive. Keep it safe apart: a restore needs it.",
            file=sys.stderr,
        )
    try:
        made = backup.make_backup(settings, args.path, with_data_key=args.with_data_key)
    except BackupRefused as refusal:
        print(f"reservations backup: {refusal}", file=sys.stderr)
        return 1
    manifest = made.manifest
    print(f"backup written: {made.path}")
    if made.has_database:
        print(f"  database: {manifest['bookings']} bookings, schema {manifest['schema_revision']}")
    else:
        print(
            "  database: PostgreSQL is not in the archive; dump it with "
            "pg_dump --format=custom (see the README)"
        )
    print(
        "  data key: "
        + (
            "INCLUDED: this archive can decrypt the personal data"
            if made.has_data_key
            else "not included: a restore needs master.key or RESERVATIONS_SECRET_KEY"
        )
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    from reservations.bootstrap import configure_clock
    from reservations.ops import backup
    from reservations.settings import get_settings

    configure_clock()
    try:
        done = backup.restore(get_settings(), args.path)
    except BackupRefused as refusal:
        print(f"reservations restore: {refusal}", file=sys.stderr)
        return 1
    taken = done.manifest.get("taken_at")
    if done.database:
        print(f"restored the database of {taken}: {done.manifest.get('bookings')} bookings")
    if done.previous_database is not None:
        print(f"  the database it replaced is kept as {done.previous_database}")
    if done.keys_added:
        print(f"  signing keys restored: {', '.join(done.keys_added)}")
    if done.data_key_restored:
        print("  data key restored")
    print("start the service: migrations bring an older backup up to date")
    return 0


def _check(args: argparse.Namespace) -> int:
    from reservations import db
    from reservations.bootstrap import prepare
    from reservations.ops import check

    prepare(reset_clock=False)
    if args.repair:
        with db.transaction() as session:
            report = check.repair(session, actor="command:check")
    else:
        with db.transaction(write=False) as session:
            report = check.check(session)
    if args.json:
        print(json.dumps(report.summary(examples=len(report.drift)), ensure_ascii=False))
    else:
        print(f"{report.counters_checked} counters checked, {len(report.drift)} drifted")
        for entry in report.drift:
            print(
                f"  {entry.kind:<9} {entry.day.isoformat()} {entry.counter:<18} "
                f"counted {entry.counted}, recounted {entry.expected}"
            )
        if report.repaired:
            print("repaired: each drifted counter now holds its recount (see the audit log)")
        elif report.drift:
            print("run `reservations check --repair` to set them to their recount")
    return 1 if report.drift and not report.repaired else 0
