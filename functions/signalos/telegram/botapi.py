"""The few Telegram Bot API calls SignalOS makes: getFile + file download, setWebhook.

Files are downloaded only from Telegram's own file endpoint with a `file_path` that getFile
returned (validated: relative, no `..`, safe characters): never from a URL found in a post
(OWASP API7, SSRF). The base URL is `https://api.telegram.org` unless TELEGRAM_API_BASE points
elsewhere (local runs and tests use a fake of the Bot API there).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

DEFAULT_BASE = "https://api.telegram.org"
MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
TIMEOUT = (3.05, 10)
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_\-./]{0,255}$")
_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_\-]{20,100}$")


class BotApiError(RuntimeError):
    """Telegram refused a call, or answered something we will not use."""


@dataclass(frozen=True)
class TelegramFile:
    file_id: str
    file_path: str
    file_size: int | None


def api_base() -> str:
    return (os.environ.get("TELEGRAM_API_BASE") or DEFAULT_BASE).rstrip("/")


def check_token(token: str) -> str:
    if not _TOKEN.match(token or ""):
        raise BotApiError("the bot token is not in Telegram's format (<digits>:<secret>)")
    return token


def _session() -> Any:
    import requests

    return requests.Session()


def call(token: str, method: str, payload: dict[str, Any], *, session: Any = None) -> Any:
    """POST a Bot API method; returns `result` or raises BotApiError with Telegram's description."""
    url = f"{api_base()}/bot{check_token(token)}/{method}"
    http = session or _session()
    resp = http.post(url, json=payload, timeout=TIMEOUT)
    try:
        body = resp.json()
    except ValueError as exc:
        raise BotApiError(f"{method}: HTTP {resp.status_code}, not JSON") from exc
    if not isinstance(body, dict) or not body.get("ok"):
        desc = body.get("description") if isinstance(body, dict) else None
        raise BotApiError(f"{method}: {desc or f'HTTP {resp.status_code}'}")
    return body.get("result")


def get_file(token: str, file_id: str, *, session: Any = None) -> TelegramFile:
    result = call(token, "getFile", {"file_id": file_id}, session=session)
    if not isinstance(result, dict):
        raise BotApiError("getFile: no result")
    path = result.get("file_path")
    if not isinstance(path, str) or not _SAFE_PATH.match(path) or ".." in path.split("/"):
        raise BotApiError("getFile: no usable file_path")
    size = result.get("file_size")
    size = size if isinstance(size, int) and not isinstance(size, bool) else None
    if size is not None and size > MAX_FILE_BYTES:
        raise BotApiError(f"file is {size} bytes, over the {MAX_FILE_BYTES} limit")
    return TelegramFile(file_id=file_id, file_path=path, file_size=size)


def download(
    token: str, file: TelegramFile, *, max_bytes: int = MAX_FILE_BYTES, session: Any = None
) -> bytes:
    """The file's bytes from Telegram's file endpoint (streamed, capped at max_bytes)."""
    url = f"{api_base()}/file/bot{check_token(token)}/{file.file_path}"
    http = session or _session()
    with http.get(url, stream=True, timeout=TIMEOUT, allow_redirects=False) as resp:
        if resp.status_code != 200:
            raise BotApiError(f"file download: HTTP {resp.status_code}")
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.iter_content(64 * 1024):
            total += len(chunk)
            if total > max_bytes:
                raise BotApiError(f"file is over the {max_bytes} byte limit")
            chunks.append(chunk)
    return b"".join(chunks)


def set_webhook_payload(
    url: str,
    secret_token: str,
    *,
    drop_pending: bool = False,
    allowed_updates: list[str] | None = None,
    max_connections: int = 40,
) -> dict[str, Any]:
    """The setWebhook request SignalOS makes (validated here so a bad secret is caught early)."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]{1,256}", secret_token or ""):
        raise BotApiError("secret_token must be 1-256 characters of A-Z a-z 0-9 _ -")
    if not url.startswith("https://"):
        raise BotApiError("Telegram only delivers webhooks to https:// URLs")
    return {
        "url": url,
        "secret_token": secret_token,
        "allowed_updates": allowed_updates
        or ["message", "edited_message", "channel_post", "edited_channel_post"],
        "drop_pending_updates": drop_pending,
        "max_connections": max_connections,
    }
