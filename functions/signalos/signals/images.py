"""Checking an uploaded image before anything stores or reads it: size, real format, dimensions.

The format is what Pillow finds in the bytes (PNG, JPEG, WebP), never the file name or the
declared content type. Dimensions are read from the header before any pixel is decoded, so a
decompression bomb is refused without being expanded. Pillow is imported on first use.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from signalos.signals import config

_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_EXT = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
MIN_SIDE = 16


class ImageRejected(ValueError):
    """An image we will not process; `code` is stable, the message is for the caller."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ImageInfo:
    format: str  # PNG | JPEG | WEBP
    width: int
    height: int
    size_bytes: int

    @property
    def content_type(self) -> str:
        return _MIME[self.format]

    @property
    def extension(self) -> str:
        return _EXT[self.format]


def sniff_format(data: bytes) -> str | None:
    """The format the leading bytes announce (a first filter; Pillow has the last word)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def inspect_image(data: bytes, *, pillow_optional: bool = False) -> ImageInfo:
    """Raise ImageRejected unless `data` is a PNG/JPEG/WebP within the limits.

    `pillow_optional=True` (functions deployed without the workers layer, e.g. the webhook)
    falls back to the leading bytes when Pillow is not importable; the worker then verifies
    the image in full before reading it. Width and height are 0 in that case.
    """
    if not data:
        raise ImageRejected("IMAGE_EMPTY", "the image is empty")
    if len(data) > config.MAX_IMAGE_BYTES:
        raise ImageRejected(
            "IMAGE_TOO_LARGE",
            f"the image is {len(data)} bytes; the limit is {config.MAX_IMAGE_BYTES} bytes (5 MB)",
        )
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        if not pillow_optional:
            raise
        fmt = sniff_format(data)
        if fmt is None:
            raise ImageRejected("IMAGE_FORMAT", "the data is not a PNG, JPEG or WebP image") from None
        return ImageInfo(format=fmt, width=0, height=0, size_bytes=len(data))

    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = (img.format or "").upper()
            width, height = img.size
            if fmt not in config.IMAGE_FORMATS:
                raise ImageRejected(
                    "IMAGE_FORMAT", f"{fmt or 'this'} images are not accepted; send PNG, JPEG or WebP"
                )
            _check_dimensions(width, height)
            img.verify()  # structure and checksums, without decoding every pixel
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected(
            "IMAGE_DIMENSIONS", f"the image has more than {config.MAX_IMAGE_PIXELS} pixels"
        ) from None
    except UnidentifiedImageError:
        if sniff_format(data) is not None:  # announces an accepted format but cannot be read
            raise ImageRejected("IMAGE_CORRUPT", "the image is damaged and cannot be read") from None
        raise ImageRejected("IMAGE_FORMAT", "the data is not a PNG, JPEG or WebP image") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRejected("IMAGE_CORRUPT", "the image is damaged and cannot be read") from None
    return ImageInfo(format=fmt, width=width, height=height, size_bytes=len(data))


def _check_dimensions(width: int, height: int) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageRejected(
            "IMAGE_DIMENSIONS",
            f"the image is {width}x{height}; it must be at least {MIN_SIDE}x{MIN_SIDE} pixels",
        )
    if (
        width > config.MAX_IMAGE_SIDE
        or height > config.MAX_IMAGE_SIDE
        or width * height > config.MAX_IMAGE_PIXELS
    ):
        raise ImageRejected(
            "IMAGE_DIMENSIONS",
            f"the image is {width}x{height}; the limit is "
            f"{config.MAX_IMAGE_SIDE} pixels a side and {config.MAX_IMAGE_PIXELS} pixels",
        )
