"""The instrument dictionary: names resolve to canonical symbols, pip sizes and plausible prices."""

import pytest
from signalos.instruments import (
    UnknownInstrument,
    all_instruments,
    canonical_symbol,
    lookup_instrument,
    pip_size,
)


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("GOLD", "XAUUSD"),
        ("gold", "XAUUSD"),
        ("XAU/USD", "XAUUSD"),
        ("XAU", "XAUUSD"),
        ("eur usd", "EURUSD"),
        ("EUR-USD", "EURUSD"),
        ("#US30", "US30"),
        ("Dow Jones", "US30"),
        ("$BTC", "BTCUSD"),
        ("Bitcoin", "BTCUSD"),
        ("ETH/USDT", "ETHUSDT"),
        ("SILVER", "XAGUSD"),
        ("US100", "NAS100"),
        ("USTEC", "NAS100"),
        ("S&P 500", "SPX500"),
        ("DAX", "GER40"),
        ("GER30", "GER40"),
        ("FTSE", "UK100"),
        ("Nikkei", "JP225"),
        ("WTI", "USOIL"),
        ("XTIUSD", "USOIL"),
        ("Brent", "UKOIL"),
        ("cable", "GBPUSD"),
        ("GBPJPY", "GBPJPY"),
        ("NZDCHF", "NZDCHF"),
        ("𝐗𝐀𝐔𝐔𝐒𝐃", "XAUUSD"),
        ("XAUUSDm", "XAUUSD"),
        ("EURUSD.pro", "EURUSD"),
    ],
)
def test_names_resolve_to_canonical_symbols(name, symbol):
    inst = lookup_instrument(name)
    assert inst is not None, name
    assert inst.symbol == symbol


@pytest.mark.parametrize("name", ["", "HELLO", "BUY", "NOW", "USD", "EURUSDXYZABCDEFGHIJ", "the"])
def test_unknown_names_give_none(name):
    assert lookup_instrument(name) is None


def test_pip_sizes_follow_market_conventions():
    assert pip_size("XAUUSD") == 0.1
    assert pip_size("EURUSD") == 0.0001
    assert pip_size("USDJPY") == 0.01
    assert pip_size("GBPJPY") == 0.01
    assert pip_size("XAGUSD") == 0.01
    assert pip_size("US30") == 1.0
    assert pip_size("gold") == 0.1
    with pytest.raises(UnknownInstrument):
        pip_size("NOTASYMBOL")


def test_plausible_price_ranges_catch_misplaced_decimals():
    eurusd = lookup_instrument("EURUSD")
    assert eurusd.is_plausible(1.0850)
    assert not eurusd.is_plausible(5387)
    assert not eurusd.is_plausible(108.50)
    gold = lookup_instrument("XAUUSD")
    assert gold.is_plausible(2050) and gold.is_plausible(4785)
    assert not gold.is_plausible(20.50)
    assert gold.pips_to_price(30) == pytest.approx(3.0)
    assert lookup_instrument("USDJPY").price_to_pips(0.40) == pytest.approx(40)


def test_dictionary_is_consistent():
    instruments = all_instruments()
    symbols = [i.symbol for i in instruments]
    assert len(symbols) == len(set(symbols))
    assert {
        "EURUSD",
        "XAUUSD",
        "US30",
        "NAS100",
        "SPX500",
        "GER40",
        "UK100",
        "JP225",
        "USOIL",
        "UKOIL",
        "BTCUSD",
        "ETHUSD",
        "XAGUSD",
    } <= set(symbols)
    for inst in instruments:
        lo, hi = inst.price_range
        assert 0 < lo < hi, inst.symbol
        assert inst.pip_size > 0
        assert inst.symbol == inst.symbol.upper() and inst.symbol.isalnum()
        assert canonical_symbol(inst.symbol) == inst.symbol
        for alias in inst.aliases:
            assert canonical_symbol(alias) is not None
