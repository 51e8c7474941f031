"""The desk's pages (placeholder until the page lands)."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
