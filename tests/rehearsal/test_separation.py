"""Rehearsals apart from real data: a data directory and a database keep the clock they were
first used with; a rehearsal runs on a marked copy."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from reservations import cli, clock
from reservations.bootstrap import reset_process_state
from reservations.rehearsal import separation
from reservations.rehearsal.service import CLOCK_FILE
from tests.conftest import FAKE_NOW, Service, admin_headers, start_in_process


def real_clock(service: Service) -> Service:
    env = dict(service.env)
    del env["RESERVATIONS_FAKE_NOW"]
    return Service(env, service.backend)


def rehearsal_of(
    service: Service, data_dir: Path | None = None, fake_now: str = FAKE_NOW
) -> Service:
    env = {**service.env, "RESERVATIONS_FAKE_NOW": fake_now}
    if data_dir is not None:
        env["RESERVATIONS_DATA_DIR"] = str(data_dir)
    return Service(env, service.backend)


def start_and_change_a_rule(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    with start_in_process(service, monkeypatch) as client:
        response = client.patch(
            "/api/v1/admin/rules",
            json={"occupancy": {"instantaneous_limit": 550}},
            headers=admin_headers(client),
        )
        assert response.status_code == 200
    reset_process_state()


def refusal_of(service: Service, monkeypatch: pytest.MonkeyPatch) -> str:
    client = start_in_process(service, monkeypatch)
    with pytest.raises(separation.MixedClocks) as refused:
        client.__enter__()
    reset_process_state()
    return str(refused.value)


def test_a_rehearsal_refuses_real_data_and_says_how_to_copy_it(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = real_clock(sqlite_service)
    data_dir = Path(real.env["RESERVATIONS_DATA_DIR"])
    start_and_change_a_rule(real, monkeypatch)
    assert (data_dir / separation.MARK_FILE).read_text().strip() == "real"

    message = refusal_of(rehearsal_of(real), monkeypatch)
    assert "real data" in message
    assert f"reservations rehearsal-copy {data_dir}-rehearsal" in message
    # Refused before anything was written: no frozen clock in the real directory.
    assert not (data_dir / CLOCK_FILE).exists()


def test_the_real_clock_refuses_a_rehearsals_data(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_and_change_a_rule(sqlite_service, monkeypatch)
    message = refusal_of(real_clock(sqlite_service), monkeypatch)
    assert "rehearsal" in message and "RESERVATIONS_FAKE_NOW" in message


def test_the_database_remembers_its_clock_whatever_the_data_directory(
    postgres_service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = real_clock(postgres_service)
    start_and_change_a_rule(real, monkeypatch)
    # A fresh data directory does not make the real PostgreSQL database a rehearsal's.
    message = refusal_of(rehearsal_of(real, tmp_path / "elsewhere"), monkeypatch)
    assert "database" in message and "--database-url" in message
    assert not (tmp_path / "elsewhere" / CLOCK_FILE).exists()


def test_the_command_line_says_why_it_will_not_start(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    start_and_change_a_rule(real_clock(sqlite_service), monkeypatch)
    monkeypatch.setenv("RESERVATIONS_FAKE_NOW", FAKE_NOW)
    reset_process_state()
    assert cli.main(["migrate"]) == 2
    error = capsys.readouterr().err
    assert "rehearsal-copy" in error and "Traceback" not in error


def test_a_rehearsal_copy_carries_the_data_and_keeps_the_original_real(
    sqlite_service: Service,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = real_clock(sqlite_service)
    data_dir = Path(real.env["RESERVATIONS_DATA_DIR"])
    start_and_change_a_rule(real, monkeypatch)
    real_keys = {path.name for path in (data_dir / "signing-keys").glob("*.json")}

    copy_dir = tmp_path / "rehearsal"
    assert cli.main(["rehearsal-copy", str(copy_dir)]) == 0
    assert f"RESERVATIONS_DATA_DIR={copy_dir}" in capsys.readouterr().out
    copied_keys = {path.name for path in (copy_dir / "signing-keys").glob("*.json")}
    assert real_keys < copied_keys  # the copy signs with a key no real gate knows

    # Rehearsing the days ahead (accounts made now sign nobody in at an earlier instant).
    ahead = (clock.now() + timedelta(days=10)).isoformat()
    rehearsal = rehearsal_of(real, copy_dir, ahead)
    with start_in_process(rehearsal, monkeypatch) as client:
        rules = client.get("/api/v1/admin/rules", headers=admin_headers(client)).json()
        assert rules["occupancy"]["instantaneous_limit"] == 550  # the real data, copied
        assert client.get("/api/v1/test/clock").status_code == 200
    reset_process_state()

    engine = create_engine(f"sqlite:///{data_dir / 'reservations.sqlite3'}")
    with engine.connect() as connection:
        mark = connection.execute(text("SELECT mode FROM clock_mark")).scalar()
    engine.dispose()
    assert mark == "real"
    assert not (data_dir / CLOCK_FILE).exists()
    # The copy is no way into the real data either.
    assert cli.main(["rehearsal-copy", str(copy_dir)]) == 2


def test_directories_from_before_the_mark_are_judged_by_what_they_hold(tmp_path: Path) -> None:
    assert separation.directory_mode(tmp_path) is None
    (tmp_path / "signing-keys").mkdir()
    assert separation.directory_mode(tmp_path) == "real"
    (tmp_path / CLOCK_FILE).write_text("2026-03-09T10:00:00+08:00")
    assert separation.directory_mode(tmp_path) == "rehearsal"
