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

from reservations.privacy import documents
from reservations.privacy.vault import get_vault

PURPOSE = "rate-limit"
# A booking names at most 50 visitors; anything beyond is not counted twice.
MAX_IDENTITIES = 64
_PHONE_FIELD = re.compile(r"(^|[._\[\-])phone\]?$")
_DOCUMENT_FIELD = re.compile(r"(^|[._\[\-])id_number\]?$")
_DOCUMENT_TYPES = frozenset(documents.IdType)
# (phone or id_number, the document's type when the request names it, the value as typed)
Found = tuple[str, str | None, str]


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


def phone_key(raw: str) -> str | None:
    """The phone as booking stores it, or ``None`` for what booking refuses anyway."""
    try:
        return documents.canonical_phone(raw)
    except documents.InvalidPhone:
        return None


def document_key(id_type: str | None, raw: str) -> str | None:
    """Who the number identifies, as booking decides it (an HK/Macau or Taiwan permit's
    renewals are one person), or ``None`` for what booking refuses anyway."""
    kind = id_type if id_type in _DOCUMENT_TYPES else documents.IdType.RESIDENT_ID
    try:
        return documents.identity_key(kind, documents.canonical_document(kind, raw))
    except documents.InvalidDocument:
        return None


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
    """Keyed hashes of the phone and document fields of a form (any naming style).

    A document number's type is the field named alike with ``id_type`` in its place
    (``visitor_id_number`` and ``visitor_id_type``, paired in order when repeated).
    """
    items = [(name, value) for name, value in form if isinstance(value, str)]
    types: dict[str, list[str]] = {}
    for name, value in items:
        types.setdefault(name, []).append(value)
    seen: dict[str, int] = {}
    found: list[Found] = []
    for name, value in items:
        if _PHONE_FIELD.search(name):
            found.append(("phone", None, value))
        elif _DOCUMENT_FIELD.search(name):
            index = seen.get(name, 0)
            seen[name] = index + 1
            siblings = types.get("id_type".join(name.rsplit("id_number", 1)), [])
            id_type = siblings[index] if index < len(siblings) else None
            found.append(("id_number", id_type, value))
        elif name == "visitors" and value.lstrip().startswith(("[", "{")):
            with contextlib.suppress(ValueError, RecursionError):
                found.extend(_walk(json.loads(value), depth=0))
    return _hashes(found)


def _walk(node: Any, depth: int) -> Iterator[Found]:
    if depth > 4:
        return
    if isinstance(node, Mapping):
        id_type = node.get("id_type")
        for key, value in node.items():
            if key in ("phone", "id_number") and isinstance(value, str):
                yield key, id_type if isinstance(id_type, str) else None, value
            elif isinstance(value, (Mapping, list)):
                yield from _walk(value, depth + 1)
    elif isinstance(node, list):
        for item in node[:MAX_IDENTITIES]:
            yield from _walk(item, depth + 1)


def _hashes(found: Iterable[Found]) -> list[str]:
    hashes: list[str] = []
    for kind, id_type, raw in found:
        if len(raw) > 200:
            continue
        value = phone_key(raw) if kind == "phone" else document_key(id_type, raw)
        if not value:
            continue
        hashed = blind(kind, value)
        if hashed not in hashes:
            hashes.append(hashed)
        if len(hashes) >= MAX_IDENTITIES:
            break
    return hashes
