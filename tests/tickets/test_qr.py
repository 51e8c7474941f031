"""QR images at the contract's URLs: a real decoder reads back exactly the ticket's token."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from tests.gate.factories import book


def _decode(image: Image.Image) -> list[Any]:
    return list(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))


def test_the_png_decodes_to_the_exact_payload(client: TestClient) -> None:
    ticket = book(client, visitors=2)["tickets"][1]
    response = client.get(ticket["qr_png_url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    (found,) = _decode(Image.open(io.BytesIO(response.content)))
    assert found.text == ticket["qr_payload"]
    assert found.symbology_identifier.startswith("]Q")
    # Version 6 (41 modules) at error correction M: scans at a glance from a phone screen.
    assert found.ec_level == "M"
    assert int(found.extra["Version"]) <= 6


@pytest.mark.browser
def test_the_svg_decodes_to_the_exact_payload_in_chromium(client: TestClient, browser) -> None:
    ticket = book(client)["tickets"][0]
    response = client.get(ticket["qr_svg_url"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert b"<script" not in response.content
    page = browser.new_page(viewport={"width": 480, "height": 480})
    try:
        source = "data:image/svg+xml;base64," + base64.b64encode(response.content).decode()
        page.set_content(
            f'<body style="margin:0"><img src="{source}" width="400" height="400"></body>'
        )
        page.wait_for_function("document.images[0].complete")
        screenshot = page.screenshot()
    finally:
        page.close()
    (found,) = _decode(Image.open(io.BytesIO(screenshot)))
    assert found.text == ticket["qr_payload"]


def test_images_are_cacheable_and_revalidate(client: TestClient) -> None:
    ticket = book(client)["tickets"][0]
    for url in (ticket["qr_png_url"], ticket["qr_svg_url"]):
        first = client.get(url)
        assert "max-age=86400" in first.headers["cache-control"]
        # It admits its holder: a shared cache may not keep it.
        assert "private" in first.headers["cache-control"]
        etag = first.headers["etag"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert (
        client.get(ticket["qr_png_url"]).headers["etag"]
        != client.get(ticket["qr_svg_url"]).headers["etag"]
    )


def test_ticket_ids_are_read_case_insensitively(client: TestClient) -> None:
    ticket = book(client)["tickets"][0]
    lower = f"/api/v1/tickets/{ticket['ticket_id'].lower()}/qr.png"
    assert client.get(lower).status_code == 200


def test_an_unknown_ticket_has_no_image(client: TestClient) -> None:
    for kind in ("png", "svg"):
        response = client.get(f"/api/v1/tickets/0000AAAA0000/qr.{kind}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
