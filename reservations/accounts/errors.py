from reservations.errors import DomainError, Unauthorized


class BadCredentials(Unauthorized):
    keeps_changes = True  # the failed attempt counts towards the lockout
    message_zh = "用户名或密码错误。"
    message_en = "Wrong username or password."


class AccountLocked(Unauthorized):
    keeps_changes = True
    message_zh = "密码错误次数过多，账户已暂时锁定，请稍后再试。"
    message_en = "Too many wrong passwords; the account is locked for a while."


class UsernameTaken(DomainError):
    code = "username_taken"
    status = 409
    message_zh = "用户名已存在。"
    message_en = "That username is taken."
