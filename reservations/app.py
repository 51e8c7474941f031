"""The FastAPI application: routers of every domain under ``/api/v1``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from reservations import __version__
from reservations.accounts.router import router as accounts_router
from reservations.admin import pages as admin_pages
from reservations.admin.router import router as admin_router
from reservations.booking.router import router as booking_router
from reservations.bootstrap import prepare_worker
from reservations.desk import pages as desk_pages
from reservations.desk.router import router as desk_router
from reservations.gate import admin_pages as gate_admin_pages
from reservations.gate import pages as gate_pages
from reservations.gate.offline_router import admin_router as gate_admin_router
from reservations.gate.offline_router import router as gate_offline_router
from reservations.gate.router import router as gate_router
from reservations.http import install_error_handlers
from reservations.jobs import pages as jobs_pages
from reservations.jobs import runtime as jobs_runtime
from reservations.jobs.router import router as jobs_router
from reservations.logs import AccessLog, install_log_redaction
from reservations.museum import pages as museum_pages
from reservations.museum.router import router as museum_router
from reservations.ops import metrics
from reservations.ops.router import router as ops_router
from reservations.protection.bodysize import BodySizeLimit
from reservations.protection.router import router as protection_router
from reservations.rehearsal.router import router as rehearsal_router
from reservations.rules.router import router as rules_router
from reservations.settings import get_settings
from reservations.teams import pages as teams_pages
from reservations.teams.router import router as teams_router
from reservations.tickets.router import router as tickets_router
from reservations.visitor import pages as visitor_pages
from reservations.waitlist import admin_pages as waitlist_admin_pages
from reservations.waitlist import pages as waitlist_pages
from reservations.waitlist.router import router as waitlist_router
from reservations.web import apidocs, static
from reservations.web import pages as web_pages
from reservations.web.errors import page_error
from reservations.web.headers import SecurityHeaders

API_PREFIX = "/api/v1"


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(prepare_worker)
    metrics.worker_started()
    jobs_runtime.start()
    try:
        yield
    finally:
        jobs_runtime.stop()


health_router = APIRouter(tags=["health"])


@health_router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="郑州网络安全科技馆 · Visitor reservations",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        # Served by reservations.web.apidocs, from this service alone.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    apidocs.install(app)
    app.state.page_error_handler = page_error
    app.add_middleware(BodySizeLimit)
    app.add_middleware(SecurityHeaders)
    if settings.access_log == "on":
        app.add_middleware(AccessLog)
    app.add_middleware(metrics.RequestMetrics, prefixes=(API_PREFIX,))
    if settings.trusted_proxies:
        # Outermost: everything inside sees the visitor's address and scheme.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    install_log_redaction()
    app.mount("/static", static.assets(), name="static")
    # Browsers ask for /favicon.ico whatever the page says.
    app.router.routes.append(
        Route("/favicon.ico", static.Alias("icons/favicon.ico"), methods=["GET", "HEAD"])
    )
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(health_router)
    for router in (
        booking_router,
        tickets_router,
        accounts_router,
        rules_router,
        admin_router,
        gate_router,
        gate_offline_router,
        gate_admin_router,
        teams_router,
        jobs_router,
        protection_router,
        museum_router,
        waitlist_router,
        desk_router,
    ):
        api.include_router(router)
    if settings.fake_now is not None:
        api.include_router(rehearsal_router)
    app.include_router(api)
    app.include_router(health_router)
    app.include_router(ops_router)
    for pages in (
        web_pages.router,
        visitor_pages.router,
        gate_pages.router,
        gate_admin_pages.router,
        teams_pages.router,
        admin_pages.router,
        jobs_pages.router,
        museum_pages.router,
        waitlist_pages.router,
        waitlist_admin_pages.router,
        desk_pages.router,
    ):
        app.include_router(pages)
    return app
