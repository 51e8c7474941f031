"""Process settings, read from the environment with the ``RESERVATIONS_`` prefix.

Museum rules (quotas, slots, windows) are not settings: they live in the database,
seeded from ``config/museum.toml``. Settings say how this process runs.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reservations import resources

# The master secret derives the data-encryption and keyed-hash keys: 256 bits at least.
MIN_SECRET_KEY_BYTES = 32


class Settings(BaseSettings):
    # A refused value is never repeated in the error: it may be a secret.
    model_config = SettingsConfigDict(
        env_prefix="RESERVATIONS_", extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None
    secret_key: SecretStr | None = None
    timezone: str = "Asia/Shanghai"
    museum_config: Path | None = None

    # Tests and rehearsals: freeze the clock at this instant and allow PUT /test/clock.
    fake_now: datetime | None = None

    admin_username: str | None = None
    admin_password: SecretStr | None = None

    # Reverse proxies in front of the service (comma-separated addresses or networks, or
    # ``*`` when only the proxy can reach it): their X-Forwarded-For names the client, their
    # X-Forwarded-Proto the scheme, so cookies are Secure and HSTS is sent behind HTTPS.
    # Unset: those headers are ignored.
    trusted_proxies: str | None = Field(default=None, min_length=1, max_length=2000)
    rate_limits: Literal["on", "off"] = "on"
    redis_url: str | None = None
    # Prefix of every key this service keeps in Redis (several services may share one).
    redis_prefix: str = "reservations:"
    # Sign-in attempts per client address (API and staff page), ``off`` to disable.
    login_rate_limit: str = Field(default="30/minute", pattern=r"^(off|\d+/(second|minute|hour))$")
    # Proof of work: leading zero bits of SHA-256 a browser must find, and how long a
    # challenge stays valid.
    pow_difficulty: int = Field(default=16, ge=1, le=32)
    pow_ttl_seconds: int = Field(default=300, ge=10, le=3600)
    # Once under pressure, the service stays so until the rate was calm this long.
    pressure_hold_seconds: int = Field(default=60, ge=1, le=3600)
    # Request bodies: JSON and plain forms, and multipart uploads.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)

    token_ttl_minutes: int = 12 * 60
    # Wrong sign-ins: per account and client address, and per address, within the lockout
    # window; past either, that address waits out the window (reservations.accounts.signin).
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=30, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    # Password checks (Argon2id, 64 MiB and four threads each) at once per process.
    sign_in_concurrency: int = Field(default=1, ge=1, le=64)

    # Request handlers run on a pool of 40 threads; the connection pool can serve them all
    # so no handler waits for a connection while holding another one's lock.
    db_pool_size: int = 10
    db_max_overflow: int = 30
    # Writing requests on request threads at once, per process (see reservations.http).
    write_concurrency: int = 16
    log_level: str = "INFO"
    # The service's own access log, with secrets and personal data withheld (reservations.logs).
    access_log: Literal["on", "off"] = "on"

    # Scheduled jobs (reservations.jobs): ``off`` when jobs run from cron with
    # ``reservations run-job --due``. With a frozen clock the scheduler never starts.
    scheduler: Literal["on", "off"] = "on"
    # Times of day, in the museum's zone (no-shows and occupancy follow hours.closes).
    reminder_time: str = Field(default="18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    purge_time: str = Field(default="03:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    # Notifications (reservations.notifications). E-mail is sent only when a host is set.
    smtp_host: str | None = None
    smtp_port: int | None = None  # default: 465 for tls, 587 for starttls, 25 for none
    smtp_tls: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str | None = None  # e.g. "郑州网络安全科技馆 <noreply@museum.example>"
    smtp_ca_file: Path | None = None  # trust a private CA (an internal relay)
    smtp_timeout_seconds: float = 10.0
    # SMS: "dev" records messages (number masked) in the data directory, "http" posts them
    # to an SMS gateway, "off" sends none.
    sms_driver: Literal["dev", "http", "off"] = "dev"
    sms_url: str | None = None
    sms_token: SecretStr | None = None
    sms_timeout_seconds: float = 10.0

    # Operating it (reservations.ops). ``/metrics`` answers admins (bearer token) and these
    # addresses or networks (comma-separated, e.g. ``127.0.0.1,10.0.0.0/8``); unset: admins.
    metrics_allow: str | None = Field(default=None, min_length=1, max_length=2000)
    # The nightly recount of the counters, and the daily backup of the embedded database
    # into ``backup_dir`` (default: ``backups`` in the data directory), of which the
    # newest ``backup_keep`` are kept.
    check_time: str = Field(default="02:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    backup_time: str = Field(default="03:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    backup_dir: Path | None = None
    backup_keep: int = Field(default=7, ge=1, le=366)

    @field_validator("secret_key")
    @classmethod
    def _secret_key_is_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(
                f"must be at least {MIN_SECRET_KEY_BYTES} bytes of random text; make one with: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _metrics_allow_are_networks(cls, value: str | None) -> str | None:
        if value is not None:
            for part in value.split(","):
                try:
                    ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        "must be addresses or networks separated by commas, "
                        "e.g. 127.0.0.1,10.0.0.0/8"
                    ) from None
        return value

    @field_validator("fake_now")
    @classmethod
    def _fake_now_needs_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("RESERVATIONS_FAKE_NOW needs a UTC offset, e.g. +08:00")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'reservations.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def backup_path(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"

    @property
    def museum_config_path(self) -> Path:
        return self.museum_config or resources.config_dir() / "museum.toml"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()


def explain(error: ValidationError) -> str:
    """What is wrong with the environment, by variable name, never repeating a value."""
    lines = ["the service's settings are not valid:"]
    for problem in error.errors(include_input=False, include_url=False):
        name = "_".join(str(part) for part in problem["loc"]).upper()
        lines.append(f"  RESERVATIONS_{name}: {problem['msg']}")
    return "\n".join(lines)
