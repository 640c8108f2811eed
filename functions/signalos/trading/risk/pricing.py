"""Price facts the engine needs: pip size, digits, the quote, spread in points."""

from __future__ import annotations

from signalos.contracts.execution import SymbolSpec
from signalos.instruments import lookup_instrument
from signalos.trading.risk.models import MarketQuote


def resolve_pip_size(symbol: str, spec: SymbolSpec | None) -> float | None:
    """The instrument dictionary's pip size; for a symbol it does not know, the MT5 convention
    from the broker's spec (3 or 5 digits: a pip is 10 points, otherwise one point)."""
    inst = lookup_instrument(symbol)
    if inst is not None:
        return inst.pip_size
    if spec is not None:
        return spec.point * 10 if spec.digits in (3, 5) else spec.point
    return None


def price_digits(symbol: str, spec: SymbolSpec | None) -> int | None:
    if spec is not None:
        return spec.digits
    inst = lookup_instrument(symbol)
    return inst.digits if inst is not None else None


def round_price(price: float, digits: int | None) -> float:
    return round(price, digits) if digits is not None else round(price, 10)


def effective_quote(quote: MarketQuote | None, spec: SymbolSpec | None) -> MarketQuote | None:
    """The quote given, else the bid/ask the bridge reported with the symbol spec."""
    if quote is not None:
        return quote
    if spec is not None and spec.bid and spec.ask and spec.ask >= spec.bid:
        return MarketQuote(bid=spec.bid, ask=spec.ask)
    return None


def spread_points(quote: MarketQuote | None, spec: SymbolSpec | None) -> float | None:
    """Current spread in points: from the quote when the point size is known, else as reported."""
    if quote is not None and spec is not None:
        return round((quote.ask - quote.bid) / spec.point, 6)
    if spec is not None and spec.spread is not None:
        return float(spec.spread)
    return None
