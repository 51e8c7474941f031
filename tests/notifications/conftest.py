"""A real SMTP server (aiosmtpd) and a real HTTP SMS gateway, started by the tests."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.pgcluster import free_port

SMTP_USER = "museum"
SMTP_PASSWORD = "smtp-password-for-tests"


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            message_from_bytes(bytes(e.content or b""), policy=policy.default)  # type: ignore[misc]
            for e in self.envelopes
        ]


@dataclass
class MailServer:
    host: str
    port: int
    inbox: Inbox

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "RESERVATIONS_SMTP_HOST": self.host,
            "RESERVATIONS_SMTP_PORT": str(self.port),
            "RESERVATIONS_SMTP_TLS": "none",
            "RESERVATIONS_SMTP_SENDER": "noreply@museum.example",
            **extra,
        }


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield MailServer("127.0.0.1", controller.port, inbox)
    finally:
        controller.stop()


@dataclass
class Certificate:
    cert: Path
    key: Path


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1, which the client trusts as its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail relay for tests")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Wide enough for any clock: TLS checks it against the system time.
        .not_valid_before(datetime(2000, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2099, 12, 31, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(tmp_path / "relay.pem", tmp_path / "relay.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _authenticate(
    _server: SMTP, _session: Session, _envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword)
        and data.login == SMTP_USER.encode()
        and data.password == SMTP_PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def tls_mail_server(certificate: Certificate) -> Iterator[MailServer]:
    """A relay that demands STARTTLS and a password, as a real one does."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate.cert, certificate.key)
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
        # smtplib's AUTH LOGIN sends an initial response that aiosmtpd does not take.
        auth_exclude_mechanism=["LOGIN"],
    )
    controller.start()
    try:
        yield MailServer("127.0.0.1", controller.port, inbox)
    finally:
        controller.stop()


@dataclass
class Gateway:
    """An SMS gateway over HTTP: records each request, answers with ``status``."""

    url: str
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "RESERVATIONS_SMS_DRIVER": "http",
            "RESERVATIONS_SMS_URL": self.url,
            "RESERVATIONS_SMS_TOKEN": "gateway-token-for-tests",
            **extra,
        }


@pytest.fixture
def sms_gateway() -> Iterator[Gateway]:
    gateway = Gateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            gateway.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": json.loads(self.rfile.read(length)),
                }
            )
            self.send_response(gateway.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
