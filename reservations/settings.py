"""Process settings, read from the environment with the ``RESERVATIONS_`` prefix.

Museum rules (quotas, slots, windows) are not settings: they live in the database,
seeded from ``config/museum.toml``. Settings say how this process runs.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reservations import resources


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESERVATIONS_", extra="ignore")

    data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None
    secret_key: SecretStr | None = None
    timezone: str = "Asia/Shanghai"
    museum_config: Path | None = None

    # Tests and rehearsals: freeze the clock at this instant and allow PUT /test/clock.
    fake_now: datetime | None = None

    admin_username: str | None = None
    admin_password: SecretStr | None = None

    rate_limits: Literal["on", "off"] = "on"
    redis_url: str | None = None

    token_ttl_minutes: int = 12 * 60
    login_max_failures: int = 5
    login_lockout_minutes: int = 15

    # Request handlers run on a pool of 40 threads; the connection pool can serve them all
    # so no handler waits for a connection while holding another one's lock.
    db_pool_size: int = 10
    db_max_overflow: int = 30
    # Writing requests on request threads at once, per process (see reservations.http).
    write_concurrency: int = 16
    log_level: str = "INFO"

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
    def museum_config_path(self) -> Path:
        return self.museum_config or resources.config_dir() / "museum.toml"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    get_settings.cache_clear()
