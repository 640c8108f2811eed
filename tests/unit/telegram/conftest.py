"""Fixtures of the Telegram unit tests: the fake Bot API on a free local port."""

from __future__ import annotations

import pytest
from fake_bot_api import FakeBotApi


@pytest.fixture
def bot_api(monkeypatch):
    with FakeBotApi() as fake:
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
        yield fake
