"""Settings of the signals context, read from the environment when asked (never at import).

Every knob has a safe default so a local run needs nothing; template.yaml may override them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Feature a caller's license needs for the LLM fallback. `signal_parsing` gates the whole
# signals context; the LLM costs money per call, so it is the premium `advanced_strategies`
# feature that unlocks it (the per-user daily budget caps the cost on top of that).
LLM_FEATURE = "advanced_strategies"
SIGNALS_FEATURE = "signal_parsing"
AUTO_TRADING_FEATURE = "auto_trading"

MAX_TEXT_CHARS = 8_000  # Telegram caps a message at 4096; twice that is plenty for pasted posts
MAX_IMPORT_LINES = 1_000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_SIDE = 8_000  # pixels; beyond this it is not a screenshot of a post
MAX_IMAGE_PIXELS = 40_000_000
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        return default


def _int(name: str, default: int) -> int:
    return int(_float(name, default))


@dataclass(frozen=True, slots=True)
class LlmSettings:
    model: str
    timeout_seconds: float
    max_retries: int
    max_tokens: int
    daily_calls: int
    daily_tokens: int
    base_url: str | None


def confidence_threshold() -> float:
    """Rules results under this confidence go to the slow path (LLM) when it is allowed."""
    return min(1.0, max(0.0, _float("LLM_CONFIDENCE_THRESHOLD", 0.6)))


def llm_settings() -> LlmSettings:
    return LlmSettings(
        model=os.environ.get("OPENAI_MODEL") or "gpt-4o-mini",
        timeout_seconds=_float("LLM_TIMEOUT_SECONDS", 12.0),
        max_retries=max(0, min(_int("LLM_MAX_RETRIES", 2), 5)),
        max_tokens=max(64, min(_int("LLM_MAX_TOKENS", 800), 4000)),
        daily_calls=max(0, _int("LLM_DAILY_CALLS", 200)),
        daily_tokens=max(0, _int("LLM_DAILY_TOKENS", 300_000)),
        base_url=os.environ.get("OPENAI_BASE_URL") or None,
    )
