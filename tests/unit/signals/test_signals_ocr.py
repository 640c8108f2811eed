"""OCR of signal screenshots through the real tesseract (Debian package) and the rules parser:
images rendered with Pillow must parse exactly as their text does. Image checks by content."""

from __future__ import annotations

import io

import pytest
from signal_images import OCR_POSTS, render, render_png, without_scores
from signalos.signals import config, images, ocr
from signalos.signals.parser import parse_message

# Every post once, alternating theme and size (tesseract takes ~0.3-0.8 s an image here).
CASES = [(text, i % 2 == 1, (16, 20, 24)[i % 3]) for i, text in enumerate(OCR_POSTS)]


@pytest.mark.slow
@pytest.mark.parametrize(("text", "dark", "size"), CASES, ids=[f"post{i}" for i in range(len(CASES))])
def test_rendered_signal_parses_exactly_as_its_text(text, dark, size):
    expected = without_scores(parse_message(text))
    assert expected, "every OCR post is a signal"
    read = ocr.image_to_text(render_png(text, size=size, dark=dark))
    assert without_scores(parse_message(read.text)) == expected, read.text


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_screenshots_are_read_too(fmt):
    text = OCR_POSTS[0]
    read = ocr.image_to_text(render_png(text, fmt=fmt, size=18, dark=True))
    assert without_scores(parse_message(read.text)) == without_scores(parse_message(text))


def test_dark_theme_is_inverted_and_small_text_scaled_to_the_target_line_height():
    small = render(OCR_POSTS[2], size=12, dark=True)
    buf = io.BytesIO()
    small.save(buf, "PNG")
    prepared = ocr.preprocess(buf.getvalue())
    histogram = prepared.histogram()
    assert set(prepared.getextrema()) <= {0, 255} and histogram[255] > histogram[0]  # black on white
    measured = ocr.line_height(prepared)
    assert abs(measured - ocr.TARGET_LINE_PX) <= ocr.TARGET_LINE_PX * 0.35
    assert prepared.width > small.width * 2


@pytest.mark.parametrize(
    ("read", "fixed"),
    [
        ("s|:4958", "SL:4958"),
        ("S| :5074.2", "SL :5074.2"),
        ("TPl: 4730", "TP1: 4730"),
        ("s] 68400", "SL 68400"),
        ("| am out of this trade", "I am out of this trade"),
        ("S1: 1.0850", "S1: 1.0850"),  # a pivot level, never a stop loss
        ("TPL hit", "TPL hit"),
    ],
)
def test_signal_vocabulary_confusions_are_corrected_only_where_unambiguous(read, fixed):
    assert ocr.fix_confusions(read) == fixed


# --- image checks: by content, within limits ------------------------------------------------------
def _bytes(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_accepted_formats_are_recognised_from_the_bytes(fmt):
    info = images.inspect_image(_bytes(render(OCR_POSTS[0]), fmt))
    assert info.format == fmt and info.width > 100 and info.content_type.startswith("image/")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "IMAGE_EMPTY"),
        (b"%PDF-1.7 this is a pdf", "IMAGE_FORMAT"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "IMAGE_CORRUPT"),
    ],
)
def test_what_is_not_an_accepted_image_is_refused(data, code):
    with pytest.raises(images.ImageRejected) as err:
        images.inspect_image(data)
    assert err.value.code == code


def test_gif_and_bmp_are_refused_whatever_they_are_called():
    from PIL import Image

    for fmt in ("GIF", "BMP"):
        with pytest.raises(images.ImageRejected) as err:
            images.inspect_image(_bytes(Image.new("RGB", (40, 40), "white"), fmt))
        assert err.value.code == "IMAGE_FORMAT"


def test_truncated_png_is_corrupt():
    data = _bytes(render(OCR_POSTS[0]), "PNG")
    with pytest.raises(images.ImageRejected) as err:
        images.inspect_image(data[: len(data) // 2])
    assert err.value.code == "IMAGE_CORRUPT"


def test_size_and_dimension_limits():
    from PIL import Image

    with pytest.raises(images.ImageRejected) as err:
        images.inspect_image(b"\x89PNG\r\n\x1a\n" + b"\0" * config.MAX_IMAGE_BYTES)
    assert err.value.code == "IMAGE_TOO_LARGE"
    for size in ((8, 8), (config.MAX_IMAGE_SIDE + 1, 20)):
        with pytest.raises(images.ImageRejected) as err:
            images.inspect_image(_bytes(Image.new("L", size, 255), "PNG"))
        assert err.value.code == "IMAGE_DIMENSIONS"


def test_a_decompression_bomb_is_refused_from_its_header():
    import struct
    import zlib

    # A valid PNG header claiming 30000 x 30000 pixels: refused before any pixel is decoded.
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(images.ImageRejected) as err:
        images.inspect_image(data)
    assert err.value.code == "IMAGE_DIMENSIONS"


def test_without_pillow_the_leading_bytes_decide(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("no Pillow in this function")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    assert images.inspect_image(png, pillow_optional=True).format == "PNG"
    with pytest.raises(images.ImageRejected):
        images.inspect_image(b"GIF89a....", pillow_optional=True)
    with pytest.raises(ImportError):
        images.inspect_image(png)
