"""OCR of signal images: Pillow preprocessing, then Debian's tesseract through pytesseract.

Screenshots of Telegram posts are small, often dark-themed, and anti-aliased; tesseract reads
best black text on white at a line height of about 50 px. So: grayscale, dark themes
inverted, scaled to that line height, contrast stretched, then a hard threshold; a few
unambiguous misreadings of the signal vocabulary are corrected afterwards. The text goes to
the rules parser like any other message (the record's parser is "ocr").

Pillow and pytesseract are imported on first use (only the slow-path worker pays for them).
"""

from __future__ import annotations

import io
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any

from signalos.signals.images import inspect_image

# tesseract reads best at a text line height of about 50 px: small screenshots are scaled up
# (at most 4x), huge ones down, measured on the lines themselves rather than the image size.
TARGET_LINE_PX = 48
MAX_UPSCALE = 4.0
MIN_SCALE = 0.5
INK_THRESHOLD = 180  # after autocontrast: darker than this is ink (keeps thin anti-aliased strokes)
TESSERACT_TIMEOUT_SECONDS = 30
# One block of text with line structure kept; LSTM engine only.
TESSERACT_CONFIG = "--oem 1 --psm 6 -c preserve_interword_spaces=1"

# Confusions of the signal vocabulary that tesseract makes on screenshot fonts ("sl" read as
# "s|", "TP1" as "TPl", a lone "I" as "|"). Only unambiguous shapes: "S1:" stays (a pivot level
# "S1: 1.0850" must never become a stop loss).
_FIXES = (
    (re.compile(r"(?mi)^(\s*)[S5$][|lI!\]](\s*[:=]?)(?=\s*\d)"), r"\1SL\2"),
    (re.compile(r"(?i)\bTP[LI|](?=\s*[:=@]?\s*\d)"), "TP1"),
    (re.compile(r"(?m)^[|!l](?= )"), "I"),
    (re.compile(r"(?m)^lam\b"), "I am"),
)


class OcrUnavailable(RuntimeError):
    """tesseract is not installed or did not answer (a deployment problem, retried later)."""


@dataclass(frozen=True, slots=True)
class OcrText:
    text: str
    elapsed_ms: float


def line_height(gray: Any) -> float | None:
    """Median height in pixels of the text lines of a dark-on-light grayscale image."""
    from PIL import Image

    ink = gray.point(lambda v: 255 if v < 128 else 0, mode="L")
    narrow = ink.resize((max(1, gray.width // 4), gray.height), Image.Resampling.BOX)
    width, raw = narrow.width, narrow.tobytes()
    runs: list[int] = []
    current = 0
    for y in range(narrow.height):
        if max(raw[y * width : (y + 1) * width]) > 0:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    if current:
        runs.append(current)
    runs = [r for r in runs if r >= 3]  # specks and underlines are not lines
    return float(statistics.median(runs)) if runs else None


def preprocess(data: bytes) -> Any:  # a PIL image (PIL is imported lazily)
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as src:
        img = ImageOps.exif_transpose(src)
        if img.mode in ("RGBA", "LA", "P"):
            img = img.convert("RGBA")
            background = Image.new("RGBA", img.size, (255, 255, 255, 255))
            img = Image.alpha_composite(background, img)
        gray = img.convert("L")
    # Dark theme (light text on dark background): tesseract wants dark on light.
    histogram = gray.histogram()
    mean = sum(i * n for i, n in enumerate(histogram)) / max(1, sum(histogram))
    if mean < 128:
        gray = ImageOps.invert(gray)
    measured = line_height(gray)
    scale = min(MAX_UPSCALE, max(MIN_SCALE, TARGET_LINE_PX / measured)) if measured else 1.0
    if abs(scale - 1.0) > 0.1:
        size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
        gray = gray.resize(size, Image.Resampling.LANCZOS)
    gray = ImageOps.autocontrast(gray, cutoff=1)
    return gray.point(lambda v: 255 if v > INK_THRESHOLD else 0, mode="L")


def fix_confusions(text: str) -> str:
    for pattern, replacement in _FIXES:
        text = pattern.sub(replacement, text)
    return text


def image_to_text(data: bytes) -> OcrText:
    """Validate, preprocess and read an image; raises ImageRejected for a bad image."""
    inspect_image(data)
    import pytesseract

    started = time.perf_counter()
    prepared = preprocess(data)
    try:
        text = pytesseract.image_to_string(
            prepared, lang="eng", config=TESSERACT_CONFIG, timeout=TESSERACT_TIMEOUT_SECONDS
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailable("tesseract is not installed") from exc
    except RuntimeError as exc:  # pytesseract raises RuntimeError on its timeout
        raise OcrUnavailable(f"tesseract did not finish: {exc}") from exc
    lines = [line.strip() for line in text.splitlines()]
    cleaned = fix_confusions("\n".join(line for line in lines if line))
    return OcrText(text=cleaned, elapsed_ms=round((time.perf_counter() - started) * 1000.0, 3))
