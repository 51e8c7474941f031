from reservations.errors import Conflict, DomainError


class TeamSizeOutOfRange(DomainError):
    """``details`` carry the rules' ``min`` and ``max``."""

    code = "team_size_out_of_range"
    status = 422
    msgid = "团队人数不在可预约范围内。"
    field = "size"


class LeaderNotAdult(DomainError):
    code = "leader_not_adult"
    status = 422
    msgid = "领队须年满18周岁。"
    field = "leader.id_number"


class NotPending(Conflict):
    """Only a pending request can be approved or rejected; ``details.status`` says what it is."""

    code = "not_pending"
    msgid = "该团队预约不在待审核状态。"


class ReviewExpired(NotPending):
    """The review deadline passed before anyone reviewed the request: it has just expired.

    The expiry is a change to keep (its places return), unlike the refused review.
    """

    keeps_changes = True
    msgid = "审核期限已过，该团队预约已失效，名额已释放。"
