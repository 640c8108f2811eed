"""OCR of signal images: Pillow preprocessing, then Debian's tesseract through pytesseract.

Screenshots of Telegram posts are small, often dark-themed, and anti-aliased; tesseract reads
best black text on white at roughly 30 px per capital letter. So: grayscale, dark themes
inverted, small images upscaled, contrast stretched, then a hard threshold. The text goes to
the rules parser like any other message (the record's parser is "ocr").

Pillow and pytesseract are imported on first use (only the slow-path worker pays for them).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

from signalos.signals.images import inspect_image

TARGET_MIN_HEIGHT = 1_000  # pixels: upscale anything smaller (up to 4x)
MAX_UPSCALE = 4.0
TESSERACT_TIMEOUT_SECONDS = 30
# One block of text with line structure kept; LSTM engine only.
TESSERACT_CONFIG = "--oem 1 --psm 6 -c preserve_interword_spaces=1"


class OcrUnavailable(RuntimeError):
    """tesseract is not installed or did not answer (a deployment problem, retried later)."""


@dataclass(frozen=True, slots=True)
class OcrText:
    text: str
    elapsed_ms: float


def preprocess(data: bytes):  # -> PIL.Image.Image (typed loosely: PIL is imported lazily)
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
    if gray.height < TARGET_MIN_HEIGHT:
        scale = min(MAX_UPSCALE, TARGET_MIN_HEIGHT / gray.height)
        if scale > 1.1:
            gray = gray.resize(
                (round(gray.width * scale), round(gray.height * scale)), Image.Resampling.LANCZOS
            )
    gray = ImageOps.autocontrast(gray, cutoff=1)
    return gray.point(lambda v: 255 if v > 150 else 0, mode="L")


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
    cleaned = "\n".join(line for line in lines if line)
    return OcrText(text=cleaned, elapsed_ms=round((time.perf_counter() - started) * 1000.0, 3))
