"""Parse result contract v1 (shared/signal-format.md): one message -> a list of results.

An `open` is a new trade setup, an `update` manages an earlier signal. The same models
are returned by the rules parser, validated from the LLM's structured output, stored with
every signal, and printed by `signalos parse --jsonl`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop"]
UpdateAction = Literal["breakeven", "move_sl", "modify_tp", "close_partial", "close_all", "cancel_pending"]
ParserName = Literal["rules", "llm", "ocr", "manual"]


class OpenSetup(BaseModel):
    """A new trade setup. Prices are in the instrument's quote currency."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["open"] = "open"
    symbol: str = Field(min_length=1, max_length=32, description="canonical instrument, e.g. XAUUSD")
    side: Side
    order_type: OrderType = "market"
    entry: float | None = Field(default=None, description="the one entry price, when a single price is given")
    entry_zone: tuple[float, float] | None = Field(default=None, description="[low, high] entry range")
    stop_loss: float | None = None
    take_profits: list[float] = Field(default_factory=list, description="TP1..TPn in the order given")
    sl_pips: float | None = None
    tp_pips: list[float] = Field(default_factory=list)
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    warnings: list[str] = Field(default_factory=list, description="why confidence was lowered")

    @model_validator(mode="after")
    def _zone_low_first(self) -> OpenSetup:
        if self.entry_zone is not None and self.entry_zone[0] > self.entry_zone[1]:
            self.entry_zone = (self.entry_zone[1], self.entry_zone[0])
        return self

    def reference_price(self) -> float | None:
        """The price a trade would be planned from: the entry, else the middle of the zone."""
        if self.entry is not None:
            return self.entry
        if self.entry_zone is not None:
            return (self.entry_zone[0] + self.entry_zone[1]) / 2
        return None


class SignalUpdate(BaseModel):
    """Management of an earlier signal. Which signal it targets is the pipeline's decision."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["update"] = "update"
    action: UpdateAction
    price: float | None = Field(default=None, description="new SL for move_sl, new TP for modify_tp")
    fraction: float | None = Field(
        default=None, gt=0.0, le=1.0, description="share to close for close_partial"
    )
    symbol: str | None = None
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    warnings: list[str] = Field(default_factory=list)


ParseItem = Annotated[OpenSetup | SignalUpdate, Field(discriminator="kind")]


class ParseResult(BaseModel):
    """Everything the parser says about one message."""

    model_config = ConfigDict(extra="forbid")

    results: list[ParseItem] = Field(default_factory=list)
    parser: ParserName = "rules"
    confidence: float = Field(default=1.0, ge=0.0, le=1.0, description="lowest confidence of the results")
    warnings: list[str] = Field(default_factory=list)

    @property
    def opens(self) -> list[OpenSetup]:
        return [r for r in self.results if isinstance(r, OpenSetup)]

    @property
    def updates(self) -> list[SignalUpdate]:
        return [r for r in self.results if isinstance(r, SignalUpdate)]

    def contract_json(self) -> list[dict]:
        """The `results` list exactly as the contract prints it (extra keys are allowed by scorers)."""
        return [r.model_dump(mode="json") for r in self.results]
