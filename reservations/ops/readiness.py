"""Whether this server can do its work now: its database answers, and Redis when set.

``/health`` says only that the process answers (liveness: cheap, no I/O). Readiness is what
a load balancer or an orchestrator asks before sending visitors: a server whose database
is away would only answer ``503``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from reservations import db
from reservations.errors import DomainError
from reservations.settings import get_settings

OK = "ok"
DOWN = "down"
# Redis answers within a fraction of a second or is treated as away.
REDIS_TIMEOUT_SECONDS = 1.0


class NotReady(DomainError):
    code = "not_ready"
    status = 503
    msgid = "服务暂不可用：依赖的组件无法访问。"

    def __init__(self, checks: dict[str, str]) -> None:
        super().__init__({"checks": checks, "retry_after": 5})


@dataclass(frozen=True, slots=True)
class Readiness:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.checks.values())


def _database() -> str:
    try:
        with db.get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return DOWN
    return OK


def _redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except (redis.RedisError, OSError):
        return DOWN
    finally:
        client.close()
    return OK


def check() -> Readiness:
    checks = {"database": _database()}
    redis_url = get_settings().redis_url
    if redis_url:
        checks["redis"] = _redis(redis_url)
    return Readiness(checks)


def require_ready() -> dict[str, str]:
    readiness = check()
    if not readiness.ready:
        raise NotReady(readiness.checks)
    return readiness.checks
