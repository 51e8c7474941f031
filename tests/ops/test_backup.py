"""Backups and restores, in this process: what an archive holds, when a restore refuses,
and the daily job's retention."""

from __future__ import annotations

import base64
import fcntl
import os
import tarfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reservations import cli
from reservations.bootstrap import reset_process_state
from reservations.ops import backup
from reservations.settings import get_settings
from tests.conftest import TOMORROW, Service, start_in_process
from tests.ops.helpers import book


def members(archive: Path) -> set[str]:
    with tarfile.open(archive, "r:gz") as opened:
        return set(opened.getnames())


def point_at(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESERVATIONS_DATA_DIR", str(directory))
    reset_process_state()


def test_a_backup_restores_into_a_new_data_directory(
    client: TestClient,
    sqlite_service: Service,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    created = book(client, TOMORROW).json()
    archive = tmp_path / "copy.tar.gz"
    assert cli.main(["backup", str(archive), "--with-data-key"]) == 0
    printed = capsys.readouterr()
    assert "WARNING" in printed.err and "INCLUDED" in printed.out
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    assert {"manifest.json", "reservations.sqlite3", "master.key"} <= members(archive)
    assert any(name.startswith("signing-keys/") for name in members(archive))

    fresh = tmp_path / "fresh"
    point_at(fresh, monkeypatch)
    assert cli.main(["restore", str(archive)]) == 0
    assert "1 bookings" in capsys.readouterr().out
    sqlite_service.env["RESERVATIONS_DATA_DIR"] = str(fresh)
    with start_in_process(sqlite_service, monkeypatch) as restored:
        found = restored.get(
            f"/api/v1/bookings/{created['reference']}",
            headers={"X-Booking-Token": created["manage_token"]},
        )
        assert found.status_code == 200, found.text
        assert found.json()["visitors"][0]["name"] == created["visitors"][0]["name"]
        ticket = restored.get(created["tickets"][0]["qr_png_url"])
        assert ticket.status_code == 200
    reset_process_state()


def test_without_its_data_key_a_restore_needs_the_right_key(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book(client, TOMORROW)
    original_key = (get_settings().data_dir / "master.key").read_bytes()
    made = backup.make_backup(get_settings(), tmp_path, with_data_key=False)
    assert "master.key" not in members(made.path)
    assert made.path.name.startswith("reservations-backup-")

    fresh = tmp_path / "fresh"
    point_at(fresh, monkeypatch)
    with pytest.raises(backup.BackupRefused, match="does not hold the data key"):
        backup.restore(get_settings(), made.path)
    fresh.mkdir(exist_ok=True)
    (fresh / "master.key").write_bytes(base64.b64encode(os.urandom(32)))
    with pytest.raises(backup.BackupRefused, match="not the one"):
        backup.restore(get_settings(), made.path)
    assert not (fresh / "reservations.sqlite3").exists()

    (fresh / "master.key").write_bytes(original_key)
    done = backup.restore(get_settings(), made.path)
    assert done.database and done.keys_added and not done.data_key_restored


def test_no_restore_while_the_service_runs(client: TestClient, tmp_path: Path) -> None:
    book(client, TOMORROW)
    settings = get_settings()
    made = backup.make_backup(settings, tmp_path / "a.tar.gz", with_data_key=True)
    running = os.open(settings.data_dir / backup.SERVICE_LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(running, fcntl.LOCK_SH)
    try:
        with pytest.raises(backup.BackupRefused, match="service is running"):
            backup.restore(settings, made.path)
    finally:
        os.close(running)
    with pytest.raises(backup.BackupRefused, match="not a backup"):
        backup.restore(settings, Path(__file__))


def test_the_restore_keeps_the_database_it_replaces(client: TestClient, tmp_path: Path) -> None:
    book(client, TOMORROW)
    settings = get_settings()
    made = backup.make_backup(settings, tmp_path / "a.tar.gz", with_data_key=False)
    book(client, TOMORROW, slot_id="1100")
    done = backup.restore(settings, made.path)
    assert done.previous_database is not None
    assert done.previous_database.name.startswith("reservations.sqlite3.before-restore-")
    assert backup.describe_database(done.previous_database)["bookings"] == 2
    assert done.manifest["bookings"] == 1


def test_the_daily_backup_keeps_the_newest(client: TestClient, tmp_path: Path) -> None:
    book(client, TOMORROW)
    directory = get_settings().backup_path
    directory.mkdir(parents=True)
    for day in range(1, 10):
        (directory / f"reservations-backup-202603{day:02d}-033000.tar.gz").write_bytes(b"old")
    (directory / "kept-by-hand.tar.gz").write_bytes(b"mine")
    result = backup.run_daily(get_settings())
    assert result["bookings"] == 1 and result["removed"] == 3
    names = sorted(path.name for path in directory.iterdir())
    assert len([n for n in names if n.startswith("reservations-backup-")]) == 7
    assert "kept-by-hand.tar.gz" in names and result["archive"] in names


@pytest.mark.postgres
def test_on_postgresql_the_archive_holds_the_keys_and_says_pg_dump(
    postgres_service: Service,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with start_in_process(postgres_service, monkeypatch) as client:
        book(client, TOMORROW)
        archive = tmp_path / "keys.tar.gz"
        assert cli.main(["backup", str(archive)]) == 0
    assert "pg_dump" in capsys.readouterr().out
    names = members(archive)
    assert "reservations.sqlite3" not in names and "master.key" not in names
    assert any(name.startswith("signing-keys/") for name in names)
    assert backup.read_manifest(archive)["database_kind"] == "postgresql"
