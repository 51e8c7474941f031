from reservations.errors import DomainError


class PlacesAvailable(DomainError):
    """The day (or the chosen slot) has room for the party now: book instead of waiting."""

    code = "places_available"
    status = 409
    msgid = "该日期（时段）目前仍有名额，请直接预约。"


class NoOffer(DomainError):
    """Accepting needs an offer that still stands."""

    code = "no_offer"
    status = 409
    msgid = "目前没有可确认的名额：通知可能已过期，或已确认、已退出。"


class NotWaiting(DomainError):
    """The entry ended (booked or expired): there is nothing left to leave."""

    code = "not_waiting"
    status = 409
    msgid = "该候补已结束，无需退出。"


class WaitingListClosed(DomainError):
    """The museum has switched the waiting list off (rules key ``waiting_list.enabled``)."""

    code = "waiting_list_closed"
    status = 409
    msgid = "候补名单暂未开放。"
