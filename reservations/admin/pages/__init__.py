"""The admin console's pages (Chinese first, English by the catalog), behind the admin role.

Pages only translate forms to the same service calls the API makes. Every form posts with
a CSRF token; a change that succeeds redirects (so reloading does not repeat it) to a page
that says what was done; a change that cannot be made shows the form again with the reason.
"""

from __future__ import annotations

from fastapi import APIRouter

from reservations.admin.pages import accounts, audit, days, overview, reports, rules

router = APIRouter(include_in_schema=False)
# One page per module, registered in this order.
for page in (overview, days, rules, reports, accounts, audit):
    router.include_router(page.router)
