from typing import ClassVar

from reservations.errors import DomainError, ValidationFailed


class InvalidIdNumber(DomainError):
    """``details.problem`` names what is wrong (see ``privacy.documents.InvalidDocument``)."""

    code = "invalid_id_number"
    status = 422
    message_zh = "证件号码无效，请核对证件类型和号码。"
    message_en = "The document number is not valid for its document type."
    PROBLEMS: ClassVar[dict[str, tuple[str, str]]] = {
        "check_character": (
            "身份证号码的最后一位（校验位）与前17位不符，请逐位核对。",
            "The last character of the resident ID (its check character) does not match "
            "the first 17; please check each digit.",
        ),
        "birth_date": (
            "身份证号码中的出生日期（第7至14位）不是有效的日期。",
            "The birth date in the resident ID (characters 7 to 14) is not a possible date.",
        ),
        "address_code": (
            "身份证号码开头的地区代码无效。",
            "The area code at the start of the resident ID is not valid.",
        ),
    }

    def message(self, language: str) -> str:
        problem = self.PROBLEMS.get(str(self.details.get("problem")))
        if problem is None:
            return super().message(language)
        return problem[1] if language == "en" else problem[0]


class InvalidPhone(DomainError):
    code = "invalid_phone"
    status = 422
    message_zh = "手机号码无效，请输入11位中国大陆手机号。"
    message_en = "The phone number is not a valid mainland China mobile number."


class ConsentRequired(DomainError):
    code = "consent_required"
    status = 422
    message_zh = "请阅读并同意个人信息处理规则（含敏感个人信息的单独同意）。"
    message_en = (
        "Please read and accept the personal information notice, "
        "including the separate consent for sensitive data."
    )


class TooManyVisitors(DomainError):
    code = "too_many_visitors"
    status = 422
    message_zh = "每笔预约的参观人数超过上限。"
    message_en = "Too many visitors in one booking."


class MinorWithoutGuardian(DomainError):
    code = "minor_without_guardian"
    status = 422
    message_zh = "未满14周岁的儿童须与成年人在同一预约中参观。"
    message_en = "Children under 14 must be booked together with an adult."


class SoldOut(DomainError):
    code = "sold_out"
    status = 409
    message_zh = "该时段已约满。"
    message_en = "No places are left for this day or time slot."


class DuplicateVisitor(DomainError):
    code = "duplicate_visitor"
    status = 409
    message_zh = "同一证件当天已有有效预约。"
    message_en = "This person already holds a booking for that day."


class AlreadyWaiting(DuplicateVisitor):
    """The person is on that day's waiting list: one booking or waiting entry per day."""

    message_zh = "同一证件当天已在候补名单中；如需直接预约，请先退出候补。"
    message_en = (
        "This person is already on that day's waiting list; leave it first to book directly."
    )

    def __init__(self) -> None:
        super().__init__({"waiting_list": True})


class VisitorBanned(DomainError):
    code = "visitor_banned"
    status = 403
    message_zh = "因多次预约未到馆，暂停预约资格。"
    message_en = "Booking is suspended for this person after repeated no-shows."


class CannotCancel(DomainError):
    code = "cannot_cancel"
    status = 409
    message_zh = "该预约已无法取消。"
    message_en = "This booking can no longer be cancelled."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 409
    message_zh = "该幂等键已用于另一内容不同的请求。"
    message_en = "This Idempotency-Key was already used for a different request."


class UnknownSlot(ValidationFailed):
    message_zh = "时段不存在。"
    message_en = "There is no such time slot."
