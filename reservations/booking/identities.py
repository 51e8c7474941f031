"""From what a visitor typed to what is stored: validated, encrypted, hashed, masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from reservations.booking.errors import InvalidIdNumber, InvalidPhone
from reservations.booking.models import Visitor
from reservations.booking.schemas import VisitorIn
from reservations.privacy import documents, masking
from reservations.privacy.vault import get_vault

# Purposes bound into ciphertexts and keyed hashes.
NAME = "name"
PHONE = "phone"
EMAIL = "email"
DOCUMENT = "document"
IDENTITY = "identity"

ADULT_AGE = 18
MINOR_AGE = 14


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    document: documents.Document
    identity_hash: str

    def age_on(self, day: date) -> int | None:
        return self.document.age_on(day)

    def is_minor_on(self, day: date) -> bool:
        age = self.age_on(day)
        return age is not None and age < MINOR_AGE

    def is_adult_on(self, day: date) -> bool:
        # Only the resident ID tells an age; other documents are taken as adults'.
        age = self.age_on(day)
        return age is None or age >= ADULT_AGE

    def as_visitor(
        self, booking_id: int, position: int, *, claim_date: date | None, role: str = "visitor"
    ) -> Visitor:
        return Visitor(
            booking_id=booking_id,
            position=position,
            role=role,
            claim_date=claim_date,
            is_minor=self.is_minor_on(claim_date) if claim_date else False,
            **self.sealed_columns(),
        )

    def claim_row(self, position: int, role: str, day: date) -> dict[str, Any]:
        """The person's ``visitor`` row, claiming ``day``, for a booking or a waiting entry
        to insert with its own reference to it."""
        return {
            "position": position,
            "role": role,
            "claim_date": day,
            "is_minor": self.is_minor_on(day),
            **self.sealed_columns(),
        }

    def sealed_columns(self) -> dict[str, Any]:
        """The person as stored: encrypted, keyed hash, masked forms for display."""
        vault = get_vault()
        return {
            "id_type": self.document.id_type.value,
            "name_enc": vault.encrypt(self.name, NAME),
            "name_masked": masking.mask_name(self.name),
            "id_number_enc": vault.encrypt(self.document.number, DOCUMENT),
            "id_masked": documents.mask_document(self.document.id_type, self.document.number),
            "identity_hash": self.identity_hash,
        }


def identity_hash(document: documents.Document) -> str:
    return get_vault().blind_index(document.identity_key, IDENTITY)


def document(
    id_type: str, number: str, today: date, field: str = "id_number"
) -> documents.Document:
    try:
        return documents.parse_document(id_type, number, today)
    except documents.InvalidDocument as exc:
        raise InvalidIdNumber(field, exc.problem) from None


def person(visitor: VisitorIn, today: date, field: str = "visitors") -> Person:
    parsed = document(visitor.id_type, visitor.id_number, today, field)
    return Person(visitor.name, parsed, identity_hash(parsed))


def person_document(id_type: str, number: str, today: date) -> str:
    return identity_hash(document(id_type, number, today))


@dataclass(frozen=True, slots=True)
class Proof:
    """A phone number and a document, as a visitor gives them to find what they booked or
    joined: the keyed hashes their records are found by."""

    phone_hash: str
    identity_hash: str


def proof(phone_number: str, id_type: str, id_number: str, today: date) -> Proof:
    normalized = phone(phone_number)
    identity = person_document(id_type, id_number, today)
    return Proof(get_vault().blind_index(normalized, PHONE), identity)


def phone(raw: str, field: str = "phone") -> str:
    try:
        return documents.canonical_phone(raw)
    except documents.InvalidPhone:
        raise InvalidPhone(field) from None


def phone_columns(normalized: str) -> dict[str, Any]:
    vault = get_vault()
    return {
        "phone_enc": vault.encrypt(normalized, PHONE),
        "phone_hash": vault.blind_index(normalized, PHONE),
        "phone_masked": masking.mask_phone(normalized),
    }


def contact_columns(normalized_phone: str | None, email: str | None) -> dict[str, Any]:
    """The contact columns of a booking or a waiting entry, all of them (None without a
    phone number or an e-mail address: a desk booking may have neither)."""
    return {
        "phone_enc": None,
        "phone_hash": None,
        "phone_masked": None,
        "email_enc": None,
        "email_masked": None,
        **(phone_columns(normalized_phone) if normalized_phone else {}),
        **email_columns(email),
    }


def email_columns(email: str | None) -> dict[str, Any]:
    if not email:
        return {}
    return {
        "email_enc": get_vault().encrypt(email, EMAIL),
        "email_masked": masking.mask_email(email),
    }
