"""The instrument dictionary: canonical symbols, their aliases, pip sizes and plausible prices.

The data lives in `instruments.json` next to this module (one instrument per line, easy to
review and extend); it is loaded once, on first use, into plain dicts so a lookup is one
string clean-up and one dict hit. The parser resolves names with it ("GOLD", "XAU/USD",
"#US30" -> canonical symbol), the risk engine converts pips to prices with `pip_size`, and
`Instrument.is_plausible` catches typos such as 5387 for EURUSD 1.5387.

Broker-specific suffixes (XAUUSDm, EURUSD.pro) are the bridge's business; `lookup_instrument`
tolerates them so a name copied from a terminal still resolves, but canonical symbols never
carry them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from typing import Literal

AssetClass = Literal["fx", "metal", "index", "energy", "crypto"]

__all__ = [
    "AssetClass",
    "Instrument",
    "UnknownInstrument",
    "all_instruments",
    "canonical_symbol",
    "clean_name",
    "lookup_instrument",
    "name_index",
    "pip_size",
]


class UnknownInstrument(KeyError):
    """A symbol that is not in the dictionary (raised by `pip_size`)."""


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str  # canonical: upper case, no separators, no broker suffix
    asset_class: AssetClass
    pip_size: float
    digits: int  # typical decimals of a quote (the broker's symbol spec wins when known)
    price_range: tuple[float, float]  # generous band of prices that make sense; outside = likely typo
    quote_currency: str
    base_currency: str | None = None
    contract_size: float = 1.0  # typical units per lot (broker spec wins)
    aliases: tuple[str, ...] = ()
    description: str = ""

    def is_plausible(self, price: float) -> bool:
        lo, hi = self.price_range
        return lo <= price <= hi

    def pips_to_price(self, pips: float) -> float:
        """A distance in pips as a price distance."""
        return pips * self.pip_size

    def price_to_pips(self, distance: float) -> float:
        return abs(distance) / self.pip_size


# Everything that is not a letter or digit goes: "XAU/USD", "eur usd", "#US30", "$BTC", "S&P 500".
_NON_ALNUM = re.compile(r"[^0-9A-Z]+")
# A broker suffix after a separator ("EURUSD.pro", "XAUUSD-ECN", "US30_i") or lower-case letters
# glued to an upper-case symbol ("XAUUSDm", "EURUSDc").
_SUFFIX_SEP = re.compile(r"^([A-Za-z0-9]+)[._\-][A-Za-z0-9]{1,8}$")
_SUFFIX_LOWER = re.compile(r"^([A-Z0-9]{3,})[a-z]{1,4}$")

_BY_NAME: dict[str, Instrument] | None = None
_ALL: tuple[Instrument, ...] = ()


def clean_name(name: str) -> str:
    """The key a name is looked up by: NFKC-folded, upper case, letters and digits only."""
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", name).upper())


def _load() -> dict[str, Instrument]:
    global _BY_NAME, _ALL
    raw = json.loads(resources.files(__package__).joinpath("instruments.json").read_text("utf-8"))
    by_name: dict[str, Instrument] = {}
    items = []
    for row in raw["instruments"]:
        inst = Instrument(
            symbol=row["symbol"],
            asset_class=row["asset_class"],
            pip_size=float(row["pip_size"]),
            digits=int(row["digits"]),
            price_range=(float(row["price_range"][0]), float(row["price_range"][1])),
            quote_currency=row["quote_currency"],
            base_currency=row.get("base_currency"),
            contract_size=float(row.get("contract_size", 1)),
            aliases=tuple(row.get("aliases", ())),
            description=row.get("description", ""),
        )
        items.append(inst)
        by_name[clean_name(inst.symbol)] = inst
    # Aliases never shadow a canonical symbol (e.g. an alias equal to another instrument's name).
    for inst in items:
        for alias in inst.aliases:
            by_name.setdefault(clean_name(alias), inst)
    _ALL = tuple(items)
    _BY_NAME = by_name
    return by_name


def name_index() -> dict[str, Instrument]:
    """Cleaned name (symbol or alias) -> instrument. The parser scans text against it."""
    return _BY_NAME if _BY_NAME is not None else _load()


def lookup_instrument(name: str) -> Instrument | None:
    """The instrument a name refers to ("GOLD", "XAU/USD", "eur usd", "#US30", "$BTC"), or None."""
    if not name:
        return None
    index = name_index()
    found = index.get(clean_name(name))
    if found is not None:
        return found
    stripped = name.strip().lstrip("#$")
    for pattern in (_SUFFIX_SEP, _SUFFIX_LOWER):
        m = pattern.match(stripped)
        if m:
            found = index.get(clean_name(m.group(1)))
            if found is not None:
                return found
    return None


def canonical_symbol(name: str) -> str | None:
    inst = lookup_instrument(name)
    return inst.symbol if inst else None


def pip_size(symbol: str) -> float:
    """Pip size of a symbol or alias; raises UnknownInstrument for names not in the dictionary."""
    inst = lookup_instrument(symbol)
    if inst is None:
        raise UnknownInstrument(symbol)
    return inst.pip_size


def all_instruments() -> tuple[Instrument, ...]:
    name_index()
    return _ALL
