"""Jinja2 pages: autoescaped, translated, and given what every layout needs."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from reservations import clock, languages, resources
from reservations.privacy import documents
from reservations.rules import channels
from reservations.web import i18n
from reservations.web.csrf import csrf_token_for
from reservations.web.static import static_url

_environment: Environment | None = None


def environment() -> Environment:
    global _environment
    if _environment is None:
        env = Environment(
            loader=FileSystemLoader(str(resources.templates_dir())),
            autoescape=select_autoescape(["html", "xml", "svg"]),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
        env.globals["static_url"] = static_url
        env.globals["document_kinds"] = documents.DOCUMENT_KINDS
        env.globals["channels"] = channels.CHANNELS
        env.globals["document_rules"] = documents.browser_rules()
        env.globals["languages"] = languages.LANGUAGES
        _environment = env
    return _environment


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    language: str | None = None,
) -> HTMLResponse:
    """``template`` in the request's language, or in ``language`` where the page speaks
    another's (a printed ticket speaks its visitor's)."""
    from reservations.http import language_of

    language = language or language_of(request)
    area = template.split("/", 1)[0] if "/" in template else ""
    with i18n.speaking(language, area=area):
        csrf = csrf_token_for(request)
        values = {
            "request": request,
            "lang": language,
            "language": languages.language(language),
            "csrf_token": csrf.value,
            "now": clock.now(),
            **(context or {}),
        }
        html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    csrf.attach(response)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Language", languages.language(language).tag)
    return response
