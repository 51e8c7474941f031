from reservations.errors import Conflict


class CannotDisableSelf(Conflict):
    code = "cannot_disable_self"
    msgid = "不能停用自己的账户。"


class LastActiveAdmin(Conflict):
    code = "last_active_admin"
    msgid = "这是最后一个启用的管理员账户，不能停用。"
