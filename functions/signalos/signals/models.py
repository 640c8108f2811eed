"""Request and response models of the signals API (`/api/v1/signals/...`).

Requests forbid unknown fields (nobody sets an owner, a status or a parser); responses list
their fields explicitly. Field names follow the product documents where they fit
(`parsed_signal`, `auto_execute`, `signal`), and every parse answer carries the contract's
`results` (shared/signal-format.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from signalos.signals import config
from signalos.signals.parser.provider_rules import ProviderRules
from signalos.signals.records import Provider, SignalRecord

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
MAX_IMPORT_CHARS = 240_000


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- parse ----------------------------------------------------------------------------------------
class ParseIn(_Request):
    text: str = Field(min_length=1, max_length=config.MAX_TEXT_CHARS, description="the signal post")
    provider_id: str | None = Field(default=None, pattern=ID_PATTERN, description="one of your providers")
    source: Literal["api", "manual", "telegram"] = Field(
        default="api", description="where the text came from (informational)"
    )
    signal_time: datetime | None = Field(
        default=None, description="when the provider posted it (default now)"
    )
    auto_execute: bool = Field(
        default=False,
        description="hand the parsed signal to the provider's subscriptions "
        "(needs auto_trading and provider_id)",
    )


class ParseSyncIn(ParseIn):
    pass


class ExecutionOut(BaseModel):
    requested: bool
    dispatched: bool
    reason: str | None = None
    subscriptions: int = 0
    orders_enqueued: int = 0
    commands_enqueued: int = 0
    rejected: int = 0
    failed: int = 0


class SignalOut(BaseModel):
    signal_id: str
    status: Literal["parsed", "queued", "ignored", "failed"]
    provider_id: str | None
    source: str
    text: str
    results: list[dict[str, Any]] = Field(description="the parse result contract's `results`")
    parser: str | None
    confidence: float | None
    rules_confidence: float | None
    warnings: list[str]
    reason: str | None = Field(description="why it was ignored or failed, or a result was rejected")
    symbols: list[str]
    signal_time: str
    received_at: str
    parsed_at: str | None
    parse_ms: float | None
    latency_ms: float | None
    revision: int
    reply_to_signal_id: str | None
    has_image: bool
    ocr_text: str | None


class LegacySignalOut(BaseModel):
    """The first setup in the product document's shape (`parsed_signal`), for older clients."""

    id: str
    symbol: str
    action: Literal["BUY", "SELL"]
    order_type: str
    entry_price: float | None
    entry_zone: list[float] | None
    stop_loss: float | None
    take_profit: list[float]
    confidence: float
    parsed_at: str | None


class ParseSyncOut(BaseModel):
    success: bool
    signal_id: str
    status: str
    results: list[dict[str, Any]]
    parsed_signal: LegacySignalOut | None
    signal: SignalOut
    execution: ExecutionOut


class ParseAcceptedOut(BaseModel):
    success: bool
    signal_id: str
    status: str
    status_url: str
    signal: SignalOut
    execution: ExecutionOut | None = None


# --- upload ---------------------------------------------------------------------------------------
class UploadIn(_Request):
    image: str = Field(min_length=8, description="the image, base64 (PNG, JPEG or WebP, at most 5 MB)")
    caption: str | None = Field(default=None, max_length=config.MAX_TEXT_CHARS)
    provider_id: str | None = Field(default=None, pattern=ID_PATTERN)
    signal_time: datetime | None = None
    auto_execute: bool = False


class UploadOut(BaseModel):
    success: bool
    signal_id: str
    status: str
    status_url: str
    image: dict[str, Any] = Field(description="format, width, height, size_bytes")


# --- import ---------------------------------------------------------------------------------------
class ImportIn(_Request):
    format: Literal["jsonl", "csv"] = Field(description="JSON lines, or CSV with a header row")
    content: str = Field(
        min_length=1,
        max_length=MAX_IMPORT_CHARS,
        description=f"one signal per line/row: `text`, optional `provider_id`, `signal_time`; "
        f"at most {config.MAX_IMPORT_LINES} lines",
    )
    provider_id: str | None = Field(default=None, pattern=ID_PATTERN, description="for lines that name none")


class ImportLineOut(BaseModel):
    line: int
    status: Literal["ok", "error"]
    signal_id: str | None = None
    signal_status: str | None = None
    results: int | None = Field(default=None, description="how many results the line parsed into")
    error: str | None = None


class ImportOut(BaseModel):
    total: int
    ok: int
    errors: int
    lines: list[ImportLineOut]


# --- history and stats ----------------------------------------------------------------------------
class SignalListOut(BaseModel):
    items: list[SignalOut]
    next_cursor: str | None


class StatsOut(BaseModel):
    period: dict[str, str]
    received: int
    pending: int
    queued_for_slow_path: int
    edits: int
    by_outcome: dict[str, int]
    by_parser: dict[str, int]
    by_confidence: dict[str, int]
    by_source: dict[str, int]
    success_rate: float | None
    latency: dict[str, Any]
    days: list[dict[str, Any]]


# --- providers ------------------------------------------------------------------------------------
class ProviderIn(_Request):
    name: str = Field(min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=1000)
    visibility: Literal["private", "public"] = Field(default="private", description="public: admins only")
    rules: ProviderRules = Field(default_factory=ProviderRules)


class ProviderPatch(_Request):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=1000)
    visibility: Literal["private", "public"] | None = None
    rules: ProviderRules | None = None


class TelegramLinkOut(BaseModel):
    chat_id: int
    title: str | None
    linked_at: str | None


class ProviderOut(BaseModel):
    provider_id: str
    name: str
    description: str | None
    visibility: str
    rules: dict[str, Any]
    telegram: TelegramLinkOut | None = Field(description="the linked Telegram chat (set by /link)")
    created_at: str
    updated_at: str


class ProviderListOut(BaseModel):
    items: list[ProviderOut]
    next_cursor: str | None


class DeletedOut(BaseModel):
    deleted: bool = True
    id: str


# --- shaping --------------------------------------------------------------------------------------
def _iso(value: datetime | None) -> str | None:
    from signalos.common.clock import iso

    return iso(value) if value is not None else None


def signal_out(record: SignalRecord) -> SignalOut:
    return SignalOut(
        signal_id=record.signal_id,
        status=record.status,
        provider_id=record.provider_id,
        source=record.source,
        text=record.text,
        results=record.parse.contract_json() if record.parse is not None else [],
        parser=record.parser,
        confidence=record.confidence,
        rules_confidence=record.rules_confidence,
        warnings=record.warnings,
        reason=record.reason,
        symbols=record.symbols,
        signal_time=_iso(record.signal_time) or "",
        received_at=_iso(record.received_at) or "",
        parsed_at=_iso(record.parsed_at),
        parse_ms=record.parse_ms,
        latency_ms=round(record.latency_ms, 3) if record.latency_ms is not None else None,
        revision=record.revision,
        reply_to_signal_id=record.reply_to_signal_id,
        has_image=record.image_key is not None,
        ocr_text=record.ocr_text,
    )


def legacy_signal(record: SignalRecord) -> LegacySignalOut | None:
    opens = record.parse.opens if record.parse is not None else []
    if not opens or record.status != "parsed":
        return None
    first = opens[0]
    return LegacySignalOut(
        id=record.signal_id,
        symbol=first.symbol,
        action="BUY" if first.side == "buy" else "SELL",
        order_type=first.order_type,
        entry_price=first.entry,
        entry_zone=list(first.entry_zone) if first.entry_zone else None,
        stop_loss=first.stop_loss,
        take_profit=list(first.take_profits),
        confidence=first.confidence,
        parsed_at=_iso(record.parsed_at),
    )


def provider_out(provider: Provider) -> ProviderOut:
    tg = provider.telegram
    return ProviderOut(
        provider_id=provider.provider_id,
        name=provider.name,
        description=provider.description,
        visibility=provider.visibility,
        rules=provider.rules,
        telegram=TelegramLinkOut(chat_id=tg.chat_id, title=tg.title, linked_at=_iso(tg.linked_at))
        if tg
        else None,
        created_at=_iso(provider.created_at) or "",
        updated_at=_iso(provider.updated_at) or "",
    )
