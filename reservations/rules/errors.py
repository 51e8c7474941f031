from reservations.errors import DomainError, ValidationFailed


class InvalidRules(ValidationFailed):
    msgid = "规则无效，未作任何修改。"


class RulesChanged(DomainError):
    """Someone else saved the rules after this change was prepared (``If-Match``)."""

    code = "rules_changed"
    status = 412
    msgid = "规则已被他人修改，请查看最新规则后重试。"


class BookingWindow(DomainError):
    """The day cannot be booked in this channel; ``details.reason`` says why."""

    code = "booking_window"
    status = 409
    msgid = "该日期当前不可预约。"

    def __init__(self, reason: str) -> None:
        super().__init__({"reason": reason})
        self.reason = reason
