from reservations.errors import Conflict, DomainError


class TeamSizeOutOfRange(DomainError):
    """``details`` carry the rules' ``min`` and ``max``."""

    code = "team_size_out_of_range"
    status = 422
    message_zh = "团队人数不在可预约范围内。"
    message_en = "The team size is outside the range the museum accepts."


class LeaderNotAdult(DomainError):
    code = "leader_not_adult"
    status = 422
    message_zh = "领队须年满18周岁。"
    message_en = "The team leader must be an adult (18 or older)."


class NotPending(Conflict):
    """Only a pending request can be approved or rejected; ``details.status`` says what it is."""

    code = "not_pending"
    message_zh = "该团队预约不在待审核状态。"
    message_en = "This team booking is not waiting for review."


class ReviewExpired(NotPending):
    """The review deadline passed before anyone reviewed the request: it has just expired.

    The expiry is a change to keep (its places return), unlike the refused review.
    """

    keeps_changes = True
    message_zh = "审核期限已过，该团队预约已失效，名额已释放。"
    message_en = "The review deadline has passed; the request has expired and its places returned."
