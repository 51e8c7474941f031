"""Static files: compressed, cached for a year under versioned URLs, revalidated otherwise;
the favicon and app icons are the service's own."""

from __future__ import annotations

import gzip
import io
import json
import re

import brotli
from fastapi.testclient import TestClient
from PIL import Image

from reservations.web.static import StaticAssets
from tests.conftest import REPO

VERSIONED = re.compile(r'(?:href|src)="(/static/[^"]+\.[0-9a-f]{12}\.[a-z]+)"')


def test_pages_link_versioned_files_kept_for_a_year(client: TestClient) -> None:
    html = client.get("/book/2026-03-10").text
    assets = VERSIONED.findall(html)
    assert len(assets) >= 5, assets  # styles, scripts, icons, manifest
    assert not re.findall(r'(?:href|src)="/static/[^"]+"', VERSIONED.sub("", html))
    for url in assets:
        response = client.get(url, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable", url
        plain = url.replace(re.search(r"\.[0-9a-f]{12}", url)[0], "")  # type: ignore[index]
        assert client.get(plain).content == response.content


def test_text_files_travel_compressed(client: TestClient) -> None:
    html = client.get("/").text
    css = re.search(r'href="(/static/app\.[0-9a-f]{12}\.css)"', html)[1]  # type: ignore[index]
    original = client.get(css, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in original.headers

    with client.stream("GET", css, headers={"Accept-Encoding": "gzip, deflate, br"}) as streamed:
        assert streamed.headers["content-encoding"] == "br"
        assert streamed.headers["vary"] == "Accept-Encoding"
        raw = b"".join(streamed.iter_raw())
    assert brotli.decompress(raw) == original.content
    assert len(raw) < len(original.content) / 2

    with client.stream("GET", css, headers={"Accept-Encoding": "gzip"}) as streamed:
        assert streamed.headers["content-encoding"] == "gzip"
        assert gzip.decompress(b"".join(streamed.iter_raw())) == original.content

    refused = client.get(css, headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_unversioned_and_stale_urls_are_revalidated(client: TestClient) -> None:
    first = client.get("/static/pow.js")
    assert first.headers["cache-control"] == "public, no-cache"
    etag = first.headers["etag"]
    again = client.get("/static/pow.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # A page from another release asks for its own version: today's file, not to keep.
    stale = client.get("/static/pow.000000000000.js")
    assert stale.status_code == 200 and stale.content == first.content
    assert stale.headers["cache-control"] == "public, no-cache"


def test_nothing_outside_the_static_folders_is_served(client: TestClient) -> None:
    for path in (
        "/static/../pyproject.toml",
        "/static/%2e%2e/pyproject.toml",
        "/static/nothing.css",
        "/static/docs/../../settings.py",
    ):
        assert client.get(path).status_code == 404, path
    assert client.post("/static/app.css").status_code == 405


def test_a_missing_file_named_in_a_template_fails_loudly(tmp_path: object) -> None:
    assets = StaticAssets({"": REPO / "templates" / "static"})
    assert assets.url("app.css").startswith("/static/app.")
    try:
        assets.url("no-such.css")
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("a wrong static name must not render")


def test_favicon_and_app_icons(client: TestClient) -> None:
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon.headers["content-type"] == "image/x-icon"
    assert Image.open(io.BytesIO(favicon.content)).format == "ICO"

    html = client.get("/").text
    manifest_url = re.search(r'<link rel="manifest" href="([^"]+)">', html)[1]  # type: ignore[index]
    manifest = client.get(manifest_url)
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    icons = json.loads(manifest.content)["icons"]
    for icon in icons:
        image = client.get(icon["src"])
        assert image.status_code == 200, icon
        if icon["type"] == "image/png":
            width, height = Image.open(io.BytesIO(image.content)).size
            assert f"{width}x{height}" == icon["sizes"]
    touch = re.search(r'<link rel="apple-touch-icon" href="([^"]+)">', html)[1]  # type: ignore[index]
    assert Image.open(io.BytesIO(client.get(touch).content)).size == (180, 180)


def test_every_page_has_a_description(client: TestClient) -> None:
    for path in ("/", "/my", "/teams", "/staff/login", "/book/2026-03-10"):
        client.cookies.set("lang", "zh")
        zh = re.search(r'<meta name="description" content="([^"]+)">', client.get(path).text)
        assert zh and "郑州网络安全科技馆" in zh[1], path
        client.cookies.set("lang", "en")
        en = re.search(r'<meta name="description" content="([^"]+)">', client.get(path).text)
        assert en and "Zhengzhou Cybersecurity" in en[1], path
