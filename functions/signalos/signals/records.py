"""What the signals context stores: a signal record and a provider, and their DynamoDB items.

SignalsTable items (all under the owner's partition, `pk = USER#<uid>`):

  signal    sk `SIGNAL#<signal_id>`     the record below, written whole by one conditional put
            gsi1pk `USER#<uid>#PROVIDER#<pid>`  gsi1sk `<signal_time>#<signal_id>`  (history by provider)
            gsi2pk `USER#<uid>#SIGNALS`          gsi2sk `<signal_time>#<signal_id>`  (history by date)
            `symbols` (list) is filtered on inside either key range (history by symbol).
  provider  sk `PROVIDER#<pid>`         name, rules (ProviderRules JSON), visibility, telegram link
            public ones: gsi1pk `PROVIDERS#PUBLIC` gsi1sk `<created_at>#<pid>`; gsi2 is left to
            the telegram linking (chat -> provider lookup).
  stats     sk `STATS#<YYYY-MM-DD>`     counters of signals received that day (atomic ADDs)
  budget    sk `LLMBUDGET#<YYYY-MM-DD>` LLM calls and tokens spent that day (conditional ADD)

Times are stored as ISO text (`signalos.common.clock.iso`), so they sort as text in keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from signalos.common.clock import iso, parse_iso
from signalos.contracts.parse_result import ParseResult, ParserName
from signalos.contracts.signal_event import SignalEvent, SignalSource

SignalStatus = Literal["parsed", "queued", "ignored", "failed"]
SlowPathKind = Literal["llm", "ocr"]
Visibility = Literal["private", "public"]
FINAL_STATUSES: frozenset[str] = frozenset({"parsed", "ignored", "failed"})
MAX_KEPT_REVISIONS = 10


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def signal_sk(signal_id: str) -> str:
    return f"SIGNAL#{signal_id}"


def provider_sk(provider_id: str) -> str:
    return f"PROVIDER#{provider_id}"


def provider_axis(user_id: str, provider_id: str) -> str:
    return f"USER#{user_id}#PROVIDER#{provider_id}"


def date_axis(user_id: str) -> str:
    return f"USER#{user_id}#SIGNALS"


class PreviousRevision(BaseModel):
    """The text of a signal before an edit replaced it (kept so nothing a provider said is lost)."""

    model_config = ConfigDict(extra="ignore")

    revision: int
    text: str
    replaced_at: datetime


class SignalRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    signal_id: str
    user_id: str
    provider_id: str | None = None
    source: SignalSource
    source_ref: dict[str, Any] = Field(
        default_factory=dict, description="e.g. chat_id, message_id, update_id"
    )
    text: str = Field(default="", description="raw text as received (the caption for an image)")
    image_key: str | None = Field(default=None, description="S3 key of an uploaded image")
    ocr_text: str | None = None
    status: SignalStatus
    parser: ParserName | None = Field(default=None, description="what produced `parse`")
    parse: ParseResult | None = None
    confidence: float | None = None
    rules_confidence: float | None = Field(default=None, description="the rules parser's own verdict")
    warnings: list[str] = Field(default_factory=list)
    reason: str | None = Field(default=None, description="why it was ignored, failed or a result rejected")
    slow_path: SlowPathKind | None = None
    signal_time: datetime
    received_at: datetime
    parsed_at: datetime | None = None
    parse_ms: float | None = Field(default=None, description="compute time of the parse that decided")
    revision: int = 0
    reply_to_signal_id: str | None = None
    auto_dispatch: bool = Field(default=False, description="hand to fan-out once parsed")
    dispatched_revision: int | None = None
    previous: list[PreviousRevision] = Field(default_factory=list)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def symbols(self) -> list[str]:
        if self.parse is None:
            return []
        seen: list[str] = []
        for item in self.parse.results:
            if item.symbol and item.symbol not in seen:
                seen.append(item.symbol)
        return seen

    @property
    def latency_ms(self) -> float | None:
        if self.parsed_at is None:
            return None
        return max(0.0, (self.parsed_at - self.received_at).total_seconds() * 1000.0)

    @property
    def needs_dispatch(self) -> bool:
        return (
            self.auto_dispatch
            and self.status == "parsed"
            and self.parse is not None
            and bool(self.parse.results)
            and self.dispatched_revision != self.revision
        )

    def to_event(self) -> SignalEvent:
        if self.parse is None or self.parsed_at is None:
            raise ValueError(f"signal {self.signal_id} has no parse result yet (status {self.status})")
        chat_id = self.source_ref.get("chat_id")
        message_id = self.source_ref.get("message_id")
        return SignalEvent(
            signal_id=self.signal_id,
            user_id=self.user_id,
            provider_id=self.provider_id,
            source=self.source,
            parse=self.parse,
            signal_time=self.signal_time,
            received_at=self.received_at,
            parsed_at=self.parsed_at,
            reply_to_signal_id=self.reply_to_signal_id,
            revision=self.revision,
            chat_id=_as_int(chat_id),
            message_id=_as_int(message_id),
        )

    # --- DynamoDB item --------------------------------------------------------------------
    def to_item(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_none=True)
        item: dict[str, Any] = {
            "pk": user_pk(self.user_id),
            "sk": signal_sk(self.signal_id),
            "type": "signal",
            **data,
            "signal_time": iso(self.signal_time),
            "received_at": iso(self.received_at),
            # dispatched_revision may be absent; a number keeps write conditions simple.
            "dispatch_mark": -1 if self.dispatched_revision is None else self.dispatched_revision,
            "gsi2pk": date_axis(self.user_id),
            "gsi2sk": f"{iso(self.signal_time)}#{self.signal_id}",
        }
        if self.parsed_at is not None:
            item["parsed_at"] = iso(self.parsed_at)
        if self.provider_id:
            item["gsi1pk"] = provider_axis(self.user_id, self.provider_id)
            item["gsi1sk"] = f"{iso(self.signal_time)}#{self.signal_id}"
        symbols = self.symbols
        if symbols:
            item["symbols"] = symbols
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SignalRecord:
        data = {k: v for k, v in item.items() if k not in _KEY_ATTRS}
        for name in ("signal_time", "received_at", "parsed_at"):
            if isinstance(data.get(name), str):
                data[name] = parse_iso(data[name])
        return cls.model_validate(data)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_KEY_ATTRS = frozenset(
    {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "type", "symbols", "expires_at", "dispatch_mark"}
)


class TelegramLink(BaseModel):
    """Set by the telegram linking (TRADING): which chat this provider's posts come from."""

    model_config = ConfigDict(extra="ignore")

    chat_id: int
    title: str | None = None
    linked_at: datetime | None = None


class Provider(BaseModel):
    model_config = ConfigDict(extra="ignore")

    provider_id: str
    user_id: str
    name: str
    description: str | None = None
    visibility: Visibility = "private"
    # Kept as plain JSON here and validated through the parser's ProviderRules at the edges,
    # so reading a provider never depends on the parser module's version of the model.
    rules: dict[str, Any] = Field(default_factory=dict)
    telegram: TelegramLink | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 1

    def to_item(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_none=True)
        item: dict[str, Any] = {
            "pk": user_pk(self.user_id),
            "sk": provider_sk(self.provider_id),
            "type": "provider",
            **data,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
        if self.visibility == "public":
            item["gsi1pk"] = "PROVIDERS#PUBLIC"
            item["gsi1sk"] = f"{iso(self.created_at)}#{self.provider_id}"
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Provider:
        data = {k: v for k, v in item.items() if k not in _KEY_ATTRS}
        for name in ("created_at", "updated_at"):
            if isinstance(data.get(name), str):
                data[name] = parse_iso(data[name])
        tg = data.get("telegram")
        if isinstance(tg, dict) and isinstance(tg.get("linked_at"), str):
            tg["linked_at"] = parse_iso(tg["linked_at"])
        return cls.model_validate(data)
