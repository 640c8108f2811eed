"""The webhook's shared secret: Telegram sends it in `X-Telegram-Bot-Api-Secret-Token`.

The expected value is the `webhook_secret` field of the TELEGRAM_SECRET_ARN secret (cached by
Powertools), or TELEGRAM_WEBHOOK_SECRET when set (the local stack). Compared in constant time.
"""

from __future__ import annotations

import hmac

HEADER = "x-telegram-bot-api-secret-token"


def expected_secret() -> str:
    """Raises signalos.common.secrets.SecretUnavailable when nothing is configured."""
    from signalos.common import secrets

    return secrets.secret_field(
        "TELEGRAM_SECRET_ARN", "webhook_secret", override_env="TELEGRAM_WEBHOOK_SECRET"
    )


def secret_matches(presented: str | None, expected: str) -> bool:
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))
