"""OCR benchmark (run with `make bench`; figures are printed, nothing is asserted on time).

Signal posts rendered into PNG screenshots (light and dark theme, two font sizes) and read back
through the real pipeline: Pillow checks + preprocessing, Debian's tesseract via pytesseract,
then the rules parser. Printed: time per image (median / p95 / max) split into OCR and parse,
and how many images parsed exactly as their text does.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "signals"))
from signal_images import OCR_POSTS, render_png, without_scores


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def test_ocr_time_per_image():
    from signalos.signals.ocr import image_to_text
    from signalos.signals.parser import parse_message

    image_to_text(render_png(OCR_POSTS[0], size=20))  # warm: imports, tesseract's model load
    ocr_ms: list[float] = []
    parse_ms: list[float] = []
    sizes: list[int] = []
    exact = 0
    for text in OCR_POSTS:
        expected = without_scores(parse_message(text))
        for size in (16, 22):
            for dark in (False, True):
                png = render_png(text, size=size, dark=dark)
                sizes.append(len(png))
                started = time.perf_counter()
                read = image_to_text(png)
                mid = time.perf_counter()
                got = without_scores(parse_message(read.text))
                done = time.perf_counter()
                ocr_ms.append((mid - started) * 1000)
                parse_ms.append((done - mid) * 1000)
                exact += got == expected
    n = len(ocr_ms)
    total = [a + b for a, b in zip(ocr_ms, parse_ms, strict=True)]
    print(
        f"\nOCR of {n} rendered signal images ({len(OCR_POSTS)} posts x 2 sizes x light/dark), "
        f"PNG {min(sizes) // 1024}-{max(sizes) // 1024} KB:"
        f"\n  per image ms  median {statistics.median(total):.0f}  p95 {_pct(total, 95):.0f}"
        f"  max {max(total):.0f}"
        f"\n  of which OCR  median {statistics.median(ocr_ms):.0f} ms;"
        f" parse median {statistics.median(parse_ms):.3f} ms"
        f"\n  parsed exactly as the text: {exact}/{n}"
    )
