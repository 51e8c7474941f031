"""The compose file's nginx configuration, run for real in front of the service: the scheme a
TLS-terminating load balancer reports reaches the service (Secure cookies, HSTS), plain HTTP
stays plain, and the visitor's address is nginx's to tell, not the visitor's."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, ADMIN_USERNAME, Service
from tests.support.pgcluster import free_port
from tests.support.server import REPO, Server, launch

pytestmark = pytest.mark.server


def nginx_config(directory: Path, port: int, *upstreams: str) -> Path:
    """docker/nginx.conf, filled in as the nginx image fills it in, with the app servers at
    ``upstreams`` (``http://host:port``) instead of Docker's ``app`` service."""
    server = (REPO / "docker" / "nginx.conf").read_text()
    server = server.replace("listen 80;", f"listen 127.0.0.1:{port};")
    server = server.replace("resolver 127.0.0.11 valid=10s ipv6=off;", "")
    assert "${APP_UPSTREAM}" in server
    server = server.replace("${APP_UPSTREAM}", "app_servers")
    members = "".join(f"    server {upstream.removeprefix('http://')};\n" for upstream in upstreams)
    server = f"upstream app_servers {{\n{members}}}\n{server}"
    temp = "".join(
        f"{kind}_temp_path {directory / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = directory / "nginx.conf"
    config.write_text(
        f"daemon off;\nworker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'};\nevents {{}}\n"
        f"http {{\naccess_log off;\n{temp}{server}\n}}\n"
    )
    return config


@contextmanager
def nginx_in_front(directory: Path, *upstreams: str) -> Iterator[str]:
    """Debian's nginx on a loopback port with docker/nginx.conf; its address."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    config = nginx_config(directory, port, *upstreams)
    nginx = subprocess.Popen(
        [binary, "-p", str(directory), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert nginx.poll() is None, (directory / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        yield base_url
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


@pytest.fixture
def through_nginx(sqlite_service: Service, tmp_path: Path) -> Iterator[str]:
    sqlite_service.env["RESERVATIONS_TRUSTED_PROXIES"] = "127.0.0.1"
    app: Server = launch(sqlite_service.env, tmp_path, workers=1)
    try:
        with nginx_in_front(tmp_path, app.base_url) as base_url:
            yield base_url
    finally:
        log = app.stop()
        assert "Traceback" not in log, log[-3000:]


def test_the_balancers_https_reaches_the_service(through_nginx: str) -> None:
    with httpx.Client(base_url=through_nginx) as client:
        secure = client.get("/staff/login", headers={"X-Forwarded-Proto": "https"})
        assert secure.headers["strict-transport-security"].startswith("max-age=")
        assert all("; Secure" in c for c in secure.headers.get_list("set-cookie"))
        plain = client.get("/staff/login")
        assert "strict-transport-security" not in plain.headers
        assert not any("Secure" in c for c in plain.headers.get_list("set-cookie"))


def test_a_visitor_cannot_forge_an_address_through_nginx(through_nginx: str) -> None:
    with httpx.Client(base_url=through_nginx) as client:
        for index in range(5):
            client.post(
                "/api/v1/auth/token",
                data={"username": ADMIN_USERNAME, "password": "guess"},
                headers={"X-Forwarded-For": f"192.0.2.{index}"},
            )
        held = client.post(
            "/api/v1/auth/token",
            data={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.200"},
        )
        assert held.status_code == 429
