from reservations.errors import DomainError


class NoLease(DomainError):
    """An admin ended a scanner's lease that it did not hold (any more)."""

    code = "not_found"
    status = 404
    msgid = "该设备没有有效的离线名额。"
