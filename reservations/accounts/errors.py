from reservations.errors import DomainError, Unauthorized


class BadCredentials(Unauthorized):
    """Every refused sign-in that is not held back: unknown name, wrong password, disabled."""

    message_zh = "用户名或密码错误。"
    message_en = "Wrong username or password."


class UsernameTaken(DomainError):
    code = "username_taken"
    status = 409
    message_zh = "用户名已存在。"
    message_en = "That username is taken."
