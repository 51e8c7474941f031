from typing import ClassVar

from reservations.errors import DomainError, ValidationFailed


class InvalidIdNumber(DomainError):
    """``details.problem`` names what is wrong (see ``privacy.documents.InvalidDocument``)."""

    code = "invalid_id_number"
    status = 422
    msgid = "证件号码无效，请核对证件类型和号码。"
    # Sharper messages by ``details.problem``.
    PROBLEMS: ClassVar[dict[str, str]] = {
        "check_character": "身份证号码的最后一位（校验位）与前17位不符，请逐位核对。",
        "birth_date": "身份证号码中的出生日期（第7至14位）不是有效的日期。",
        "address_code": "身份证号码开头的地区代码无效。",
    }

    def __init__(self, field: str, problem: str) -> None:
        super().__init__({"field": field, "problem": problem}, field=field)

    def message_id(self) -> str:
        return self.PROBLEMS.get(str(self.details.get("problem")), self.msgid)


class InvalidPhone(DomainError):
    code = "invalid_phone"
    status = 422
    msgid = "手机号码无效，请输入11位中国大陆手机号。"

    def __init__(self, field: str = "phone") -> None:
        super().__init__({"field": field}, field=field)


class ConsentRequired(DomainError):
    code = "consent_required"
    status = 422
    msgid = "请阅读并同意个人信息处理规则（含敏感个人信息的单独同意）。"
    field = "consent"


class TooManyVisitors(DomainError):
    code = "too_many_visitors"
    status = 422
    msgid = "每笔预约的参观人数超过上限。"
    field = "visitors"


class MinorWithoutGuardian(DomainError):
    code = "minor_without_guardian"
    status = 422
    msgid = "未满14周岁的儿童须与成年人在同一预约中参观。"
    field = "visitors"


class SoldOut(DomainError):
    code = "sold_out"
    status = 409
    msgid = "该时段已约满。"


class DuplicateVisitor(DomainError):
    code = "duplicate_visitor"
    status = 409
    msgid = "同一证件当天已有有效预约。"


class AlreadyWaiting(DuplicateVisitor):
    """The person is on that day's waiting list: one booking or waiting entry per day."""

    msgid = "同一证件当天已在候补名单中；如需直接预约，请先退出候补。"

    def __init__(self) -> None:
        super().__init__({"waiting_list": True})


class VisitorBanned(DomainError):
    code = "visitor_banned"
    status = 403
    msgid = "因多次预约未到馆，暂停预约资格。"


class CannotCancel(DomainError):
    code = "cannot_cancel"
    status = 409
    msgid = "该预约已无法取消。"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 409
    msgid = "该幂等键已用于另一内容不同的请求。"


class UnknownSlot(ValidationFailed):
    msgid = "时段不存在。"
    field = "slot_id"
