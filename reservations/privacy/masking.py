"""How personal data is shown on screens and paper (GB/T 35273 practice).

Every mask is made from the canonical form (``reservations.privacy.documents``), so one
document has one mask however it was typed; which mask a document gets is its kind's
(``documents.mask_document``).
"""

from __future__ import annotations


def mask_name(name: str) -> str:
    """张* · 张*丰 · 欧**月 · J***n: keep the first character, and the last from three on."""
    cleaned = name.strip()
    if len(cleaned) <= 1:
        return cleaned
    if len(cleaned) == 2:
        return cleaned[0] + "*"
    return cleaned[0] + "*" * (len(cleaned) - 2) + cleaned[-1]


def mask_resident_id(number: str) -> str:
    """Resident IDs (and residence permits) as published: ``4101**********123X``, the first
    four and the last four of eighteen."""
    if len(number) != 18:
        return mask_at_most_a_third(number)
    return number[:4] + "*" * 10 + number[-4:]


def mask_at_most_a_third(number: str) -> str:
    """Passports and travel permits: the first character and the last two (``E******78``,
    ``H******21``); shorter numbers fewer."""
    shown_at_end = 2 if len(number) >= 9 else 1
    shown_at_start = 1 if len(number) >= 6 else 0
    hidden = max(len(number) - shown_at_start - shown_at_end, 0)
    if hidden == 0:
        return "*" * len(number)
    return number[:shown_at_start] + "*" * hidden + number[len(number) - shown_at_end :]


def mask_phone(phone: str) -> str:
    """138****8000: the first three and the last four digits."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
