"""A parsed signal handed from the signals side (webhook, API, slow-path worker) to fan-out.

Produced by signalos.signals / signalos.telegram after a message is parsed and stored;
consumed by signalos.trading.fanout.dispatch_signal, which sizes it for every subscription
of the provider and enqueues orders or management commands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from signalos.contracts.parse_result import ParseResult

SignalSource = Literal["telegram", "api", "import", "upload", "manual"]


class SignalEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signal_id: str
    user_id: str = Field(description="owner of the provider (and of the stored signal)")
    provider_id: str | None
    source: SignalSource
    parse: ParseResult
    signal_time: datetime = Field(description="when the provider posted it (Telegram `date`)")
    received_at: datetime
    parsed_at: datetime
    # Telegram threading: an update that replies to a signal, or an edit of a signal.
    reply_to_signal_id: str | None = None
    revision: int = Field(default=0, ge=0, description="0 for the first version, +1 per edit")
    chat_id: int | None = None
    message_id: int | None = None
