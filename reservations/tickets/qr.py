"""QR images of ticket tokens (error correction M: readable from a scratched phone screen)."""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _code(payload: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(payload, optimize=0)
    code.make(fit=True)
    return code


def version(payload: str) -> int:
    return int(_code(payload).version)


# A day's visitors open their tickets again and again; rendering is the costly part.
@lru_cache(maxsize=512)
def png(payload: str) -> bytes:
    buffer = io.BytesIO()
    _code(payload).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


@lru_cache(maxsize=512)
def svg(payload: str) -> bytes:
    image = _code(payload).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()
