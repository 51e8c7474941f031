from reservations.errors import Conflict


class CannotDisableSelf(Conflict):
    code = "cannot_disable_self"
    message_zh = "不能停用自己的账户。"
    message_en = "You cannot disable your own account."


class LastActiveAdmin(Conflict):
    code = "last_active_admin"
    message_zh = "这是最后一个启用的管理员账户，不能停用。"
    message_en = "This is the last active admin account; it cannot be disabled."
