from reservations.errors import DomainError


class PlacesAvailable(DomainError):
    """The day (or the chosen slot) has room for the party now: book instead of waiting."""

    code = "places_available"
    status = 409
    message_zh = "该日期（时段）目前仍有名额，请直接预约。"
    message_en = "There are places left for this day (or time slot): book them directly."


class NoOffer(DomainError):
    """Accepting needs an offer that still stands."""

    code = "no_offer"
    status = 409
    message_zh = "目前没有可确认的名额：通知可能已过期，或已确认、已退出。"
    message_en = (
        "There is no place to confirm: the offer may have run out, or was used or given up."
    )


class NotWaiting(DomainError):
    """The entry ended (booked or expired): there is nothing left to leave."""

    code = "not_waiting"
    status = 409
    message_zh = "该候补已结束，无需退出。"
    message_en = "This waiting list entry has already ended."


class WaitingListClosed(DomainError):
    """The museum has switched the waiting list off (rules key ``waiting_list.enabled``)."""

    code = "waiting_list_closed"
    status = 409
    message_zh = "候补名单暂未开放。"
    message_en = "The waiting list is not open."
