"""Every table, imported in one place for migrations and metadata."""

from reservations.accounts.models import AccessToken, User
from reservations.admin.models import AuditEntry
from reservations.booking.models import (
    Booking,
    CapacityCounter,
    IdempotencyRecord,
    NoShowStrike,
    Visitor,
    VisitorBan,
)
from reservations.gate.models import GateScan, OccupancyCounter
from reservations.jobs.models import JobLease, JobRun
from reservations.rules.models import DayOverride, RulesDocument
from reservations.tickets.models import Ticket

__all__ = [
    "AccessToken",
    "AuditEntry",
    "Booking",
    "CapacityCounter",
    "DayOverride",
    "GateScan",
    "IdempotencyRecord",
    "JobLease",
    "JobRun",
    "NoShowStrike",
    "OccupancyCounter",
    "RulesDocument",
    "Ticket",
    "User",
    "Visitor",
    "VisitorBan",
]
