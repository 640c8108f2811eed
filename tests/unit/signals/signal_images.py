"""Signal posts rendered as screenshots with Pillow, for the OCR tests and benchmark.

A TrueType font from Debian's fonts-dejavu when it is installed, else Pillow's own scalable
default font; light (white) or dark (Telegram's night theme) background.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")

OCR_POSTS = [
    "XAUUSD BUY NOW 1950-1948\nSL 1940\nTP1 1955\nTP2 1960",
    "GBPJPY SELL LIMIT 191.250\nStop loss 192.100\nTake profit 1: 190.500\nTake profit 2: 189.800",
    "BUY EURUSD @ 1.1000\nSL: 1.0950\nTP: 1.1050",
    "US30 BUY 39250-39200\nSL 39100\nTP 39400\nTP 39550",
    "GOLD SELL @4746\nSL: 4752\nTP1: 4730\nTP2: 4720",
    "BTCUSD sell 67850\nsl 68400\ntp 67000\ntp 66200",
    "Move SL to breakeven on GOLD",
    "Close half now",
]


def font(size: int, name: str = "DejaVuSans.ttf") -> Any:
    from PIL import ImageFont

    path = DEJAVU / name
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def render(text: str, *, size: int = 20, dark: bool = False, name: str = "DejaVuSans.ttf") -> Any:
    from PIL import Image, ImageDraw

    face = font(size, name)
    lines = text.split("\n")
    step = int(size * 1.45)
    width = max(int(face.getlength(line)) for line in lines) + 40
    background, ink = ((23, 33, 43), (245, 245, 245)) if dark else ((255, 255, 255), (20, 20, 20))
    img = Image.new("RGB", (width, step * len(lines) + 30), background)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((20, 15 + i * step), line, font=face, fill=ink)
    return img


def render_png(text: str, *, fmt: str = "PNG", **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    render(text, **kwargs).save(buf, fmt, **({"quality": 92} if fmt in ("JPEG", "WEBP") else {}))
    return buf.getvalue()


def without_scores(result: Any) -> list[dict[str, Any]]:
    """The contract's results without confidence and warnings (what must match exactly)."""
    return [
        {k: v for k, v in item.items() if k not in ("confidence", "warnings")}
        for item in result.contract_json()
    ]
