"""Who is asking: the dependencies that authenticate a request and check its role.

``bearer`` for the JSON API (``Authorization: Bearer``), ``staff_session`` for the pages (an
HttpOnly cookie). Accounts, passwords and signing in live in ``reservations.accounts``.
"""
