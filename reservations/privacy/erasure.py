"""What erasing a person's data writes: the columns that hold a person or a way to reach
one, nulled. Bookings (``privacy.retention``) and waiting entries
(``waitlist.retention``) share these lists, so a personal column added to both is erased
from both."""

from __future__ import annotations

ERASED_PERSON: dict[str, None] = {
    "name_enc": None,
    "name_masked": None,
    "id_number_enc": None,
    "id_masked": None,
    # Strikes keep their own copy while they count; the records need none.
    "identity_hash": None,
}
ERASED_CONTACT: dict[str, None] = {
    "phone_enc": None,
    "phone_hash": None,
    "phone_masked": None,
    "email_enc": None,
    "email_masked": None,
}
