"""QR images at the contract's URLs: a real decoder reads back exactly the ticket's token."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from reservations.tickets.links import image_url
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
    path, query = ticket["qr_png_url"].split("?")
    assert client.get(f"{path.lower()}?{query}").status_code == 200


def test_the_ticket_number_alone_gives_no_image(client: TestClient) -> None:
    """The number is printed under the code: a photo of it must not yield the entry code."""
    first, second = book(client, visitors=2)["tickets"]
    for kind in ("png", "svg"):
        signed = first[f"qr_{kind}_url"]
        assert client.get(signed).status_code == 200
        bare = signed.split("?")[0]
        other_signature = second[f"qr_{kind}_url"].split("?")[1]
        guesses = (bare, f"{bare}?sig=", f"{bare}?sig=0123abcd", f"{bare}?sig=ß✓")
        for guess in (*guesses, f"{bare}?{other_signature}"):
            refused = client.get(guess)
            assert refused.status_code == 404, guess
            assert refused.json()["error"]["code"] == "not_found"
            assert first["qr_payload"] not in refused.text


def test_an_unknown_ticket_has_no_image(client: TestClient) -> None:
    for kind in ("png", "svg"):
        response = client.get(image_url("0000AAAA0000", kind))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
