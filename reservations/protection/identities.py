"""Who a request speaks for, as keyed hashes: the client's address and the phone and
document numbers in its body (JSON from API clients, form fields from the pages).

Nothing here is stored or logged in the clear: every value leaves as a keyed hash, and
these hashes use their own purpose so they match nothing in the database.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from reservations.privacy.vault import get_vault

PURPOSE = "rate-limit"
# A booking names at most 50 visitors; anything beyond is not counted twice.
MAX_IDENTITIES = 64
_PHONE_FIELD = re.compile(r"(^|[._\[\-])phone\]?$")
_DOCUMENT_FIELD = re.compile(r"(^|[._\[\-])id_number\]?$")
_PHONE_NOISE = re.compile(r"[\s\-()]")


def address_key(host: str | None) -> str:
    """The client's address; IPv6 clients by their /64, which one subscriber holds whole."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def normalize_phone(value: str) -> str:
    digits = _PHONE_NOISE.sub("", value)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def normalize_document(value: str) -> str:
    return re.sub(r"\s", "", value).upper()


def blind(kind: str, value: str) -> str:
    return get_vault().blind_index(f"{kind}:{value}", PURPOSE)[:32]


def from_json(body: bytes) -> list[str]:
    """Keyed hashes of the phones and document numbers anywhere in a JSON body."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return []
    return _hashes(_walk(document, depth=0))


def from_form(form: Iterable[tuple[str, Any]]) -> list[str]:
    """Keyed hashes of the phone and document fields of a form (any naming style)."""
    found: list[tuple[str, str]] = []
    for name, value in form:
        if not isinstance(value, str):
            continue
        if _PHONE_FIELD.search(name):
            found.append(("phone", value))
        elif _DOCUMENT_FIELD.search(name):
            found.append(("id_number", value))
        elif name == "visitors" and value.lstrip().startswith(("[", "{")):
            with contextlib.suppress(ValueError, RecursionError):
                found.extend(_walk(json.loads(value), depth=0))
    return _hashes(found)


def _walk(node: Any, depth: int) -> Iterator[tuple[str, str]]:
    if depth > 4:
        return
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("phone", "id_number") and isinstance(value, str):
                yield key, value
            elif isinstance(value, (Mapping, list)):
                yield from _walk(value, depth + 1)
    elif isinstance(node, list):
        for item in node[:MAX_IDENTITIES]:
            yield from _walk(item, depth + 1)


def _hashes(found: Iterable[tuple[str, str]]) -> list[str]:
    hashes: list[str] = []
    for kind, raw in found:
        value = normalize_phone(raw) if kind == "phone" else normalize_document(raw)
        if not value or len(value) > 64:
            continue
        hashed = blind(kind, value)
        if hashed not in hashes:
            hashes.append(hashed)
        if len(hashes) >= MAX_IDENTITIES:
            break
    return hashes
