"""Signal posts the signals tests send through the real rules parser, and what it makes of them."""

from __future__ import annotations

GOLD = "XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955 TP2 1960"  # clean: confidence 1.0
EURUSD = "BUY EURUSD @ 1.1000 SL: 1.0950 TP: 1.1050"
SELL_GBPJPY = "GBPJPY SELL LIMIT 191.250 SL 192.100 TP 190.500"
BREAKEVEN = "Move SL to breakeven on XAUUSD"
CHATTER = "Good morning traders, big week ahead!"
# A provider's own name for gold: direction and levels but no instrument the parser knows
# (confidence 0.5, under the slow-path threshold): the LLM may read it as XAUUSD.
UNSURE = "Yellow metal sell 1950 sl 1958 tp 1942"
UNSURE_AS_LLM_READS_IT = {
    "kind": "open",
    "symbol": "XAUUSD",
    "side": "sell",
    "order_type": "market",
    "entry": 1950,
    "entry_zone": None,
    "stop_loss": 1958,
    "take_profits": [1942],
    "sl_pips": None,
    "tp_pips": [],
    "confidence": 0.8,
}
