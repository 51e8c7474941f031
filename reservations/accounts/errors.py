from reservations.errors import DomainError, Unauthorized


class BadCredentials(Unauthorized):
    """Every refused sign-in that is not held back: unknown name, wrong password, disabled."""

    msgid = "用户名或密码错误。"


class UsernameTaken(DomainError):
    code = "username_taken"
    status = 409
    msgid = "用户名已存在。"
