from reservations.errors import DomainError, ValidationFailed


class InvalidRules(ValidationFailed):
    message_zh = "规则无效，未作任何修改。"
    message_en = "The rules are invalid; nothing was changed."


class RulesChanged(DomainError):
    """Someone else saved the rules after this change was prepared (``If-Match``)."""

    code = "rules_changed"
    status = 412
    message_zh = "规则已被他人修改，请查看最新规则后重试。"
    message_en = "The rules were changed meanwhile; review the current rules and try again."


class BookingWindow(DomainError):
    """The day cannot be booked in this channel; ``details.reason`` says why."""

    code = "booking_window"
    status = 409
    message_zh = "该日期当前不可预约。"
    message_en = "This day cannot be booked now."

    def __init__(self, reason: str) -> None:
        super().__init__({"reason": reason})
        self.reason = reason
