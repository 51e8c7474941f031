"""Security headers on every response, and a strict content security policy: the pages
load nothing from elsewhere and run no inline script or style.

API answers carry personal data (masked, but still a visitor's), so they are not stored
by browsers or proxies unless an endpoint says otherwise. Over HTTPS (directly, or behind
a trusted proxy that says so: ``RESERVATIONS_TRUSTED_PROXIES``) browsers are told to keep
to HTTPS, and every cookie the service sets is ``Secure``: here, in one place."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _policy(style_source: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {style_source}",
            "img-src 'self' data: blob:",
            "media-src 'self' blob:",
            "worker-src 'self' blob:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


CONTENT_SECURITY_POLICY = _policy("'self'")
# /docs and /redoc only: Swagger UI and ReDoc inject their styles at run time. Scripts stay
# this service's own files there too.
DOCS_CONTENT_SECURITY_POLICY = _policy("'self' 'unsafe-inline'")
_DOCS_PATHS = frozenset({"/docs", "/redoc"})

_POLICY = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
_DOCS_POLICY = (b"content-security-policy", DOCS_CONTENT_SECURITY_POLICY.encode())
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"x-permitted-cross-domain-policies", b"none"),
]
_NO_STORE = (b"cache-control", b"no-store")
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path = scope.get("path", "")
        wanted = [_DOCS_POLICY if path in _DOCS_PATHS else _POLICY, *_HEADERS]
        if path.startswith("/api/"):
            wanted.append(_NO_STORE)
        if scope.get("scheme") == "https":
            wanted.append(_HSTS)

        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if secure:
                    headers = [_secure_cookie(name, value) for name, value in headers]
                present = {name.lower() for name, _ in headers}
                extra = [(name, value) for name, value in wanted if name not in present]
                message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure_cookie(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() != b"set-cookie" or b"; secure" in value.lower():
        return name, value
    return name, value + b"; Secure"
