"""QR codes as PNG bytes for the screens that show one (top-up checkout links).

Pure: text in, bytes out. Each app turns the bytes into its own image type.
"""

from __future__ import annotations

import io

import segno

QR_BORDER = 4  # the quiet zone the QR standard asks for


def qr_png(text: str, size_px: int) -> bytes:
    """``text`` as a QR code of at most ``size_px`` square, in whole pixels per module (sharp for cameras)."""
    assert size_px > 0, "a QR code needs room"
    qr = segno.make(text, error="m")
    width, _ = qr.symbol_size(border=QR_BORDER)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=max(1, size_px // width), border=QR_BORDER, dark="#000000", light="#ffffff")
    return buffer.getvalue()
