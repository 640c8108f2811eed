"""Signal images in REPORTS_BUCKET under `uploads/<user_id>/`: written once, read by the worker."""

from __future__ import annotations

import os
from typing import Any

from signalos.common import aws

MAX_READ_BYTES = 6 * 1024 * 1024


class ImageMissing(LookupError):
    """The image a signal points to is not in the bucket."""


def image_key(user_id: str, signal_id: str, extension: str) -> str:
    return f"uploads/{user_id}/{signal_id}.{extension}"


def owns_key(user_id: str, key: str) -> bool:
    """Only keys under the user's own prefix (no `..` tricks) may be attached to their signals."""
    prefix = f"uploads/{user_id}/"
    return key.startswith(prefix) and ".." not in key and "//" not in key and len(key) <= 512


def _s3() -> Any:
    return aws.client("s3")


def _bucket() -> str:
    bucket = os.environ.get("REPORTS_BUCKET")
    if not bucket:
        raise RuntimeError("environment variable REPORTS_BUCKET is not set")
    return bucket


def put_image(key: str, data: bytes, content_type: str) -> None:
    _s3().put_object(
        Bucket=_bucket(), Key=key, Body=data, ContentType=content_type, ServerSideEncryption="AES256"
    )


def get_image(key: str) -> bytes:
    client = _s3()
    try:
        obj = client.get_object(Bucket=_bucket(), Key=key)
    except client.exceptions.NoSuchKey as exc:
        raise ImageMissing(key) from exc
    return obj["Body"].read(MAX_READ_BYTES + 1)
