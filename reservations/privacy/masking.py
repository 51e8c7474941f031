"""How personal data is shown on screens and paper (GB/T 35273 practice)."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张* · 张*丰 · 欧**月 · J***n: keep the first character, and the last from three on."""
    cleaned = name.strip()
    if len(cleaned) <= 1:
        return cleaned
    if len(cleaned) == 2:
        return cleaned[0] + "*"
    return cleaned[0] + "*" * (len(cleaned) - 2) + cleaned[-1]


def mask_document(number: str) -> str:
    """4101**********123X: the first four and the last four characters."""
    if len(number) <= 8:
        return number[:2] + "*" * max(len(number) - 2, 0)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    """138****8000: the first three and the last four digits."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
