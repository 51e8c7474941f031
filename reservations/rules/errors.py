from reservations.errors import DomainError, ValidationFailed


class InvalidRules(ValidationFailed):
    message_zh = "规则无效，未作任何修改。"
    message_en = "The rules are invalid; nothing was changed."


class BookingWindow(DomainError):
    """The day cannot be booked in this channel; ``details.reason`` says why."""

    code = "booking_window"
    status = 409
    message_zh = "该日期当前不可预约。"
    message_en = "This day cannot be booked now."

    def __init__(self, reason: str) -> None:
        super().__init__({"reason": reason})
        self.reason = reason
