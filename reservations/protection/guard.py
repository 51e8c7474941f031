"""Dependencies the public booking endpoints declare: rate limits and bot friction."""

from __future__ import annotations

from fastapi import Request


async def guard_booking(request: Request) -> None:
    """Before a booking or team booking is created."""


async def guard_lookup(request: Request) -> None:
    """Before a visitor's bookings are looked up."""
