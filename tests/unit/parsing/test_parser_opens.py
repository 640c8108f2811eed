"""Open setups in the many shapes channels write them (none of these posts is in the dev corpus)."""

from __future__ import annotations

import pytest
from signalos.contracts.parse_result import OpenSetup, ParseResult
from signalos.signals.parser import parse_message


def only_open(text: str) -> OpenSetup:
    result = parse_message(text)
    assert isinstance(result, ParseResult) and result.parser == "rules"
    assert len(result.results) == 1, result.results
    item = result.results[0]
    assert isinstance(item, OpenSetup), item
    return item


def levels(item: OpenSetup) -> tuple:
    return (item.symbol, item.side, item.entry, item.entry_zone, item.stop_loss, item.take_profits)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "EURUSD SELL 1.08500\nSL 1.08800\nTP1 1.08200\nTP2 1.07900",
            ("EURUSD", "sell", 1.085, None, 1.088, [1.082, 1.079]),
        ),
        (
            "gbpjpy buy @ 189.50 sl 189.00 tp 190.00 tp 190.50",
            ("GBPJPY", "buy", 189.5, None, 189.0, [190.0, 190.5]),
        ),
        (
            "#BTCUSDT LONG\nEntry: 61,200 - 61,500\nTargets: 62,000 - 63,000 - 64,500\nStop: 60,400",
            ("BTCUSDT", "buy", None, (61200.0, 61500.0), 60400.0, [62000.0, 63000.0, 64500.0]),
        ),
        ("USOIL sell now at 78.40, sl 79.10, tp 77.20", ("USOIL", "sell", 78.4, None, 79.1, [77.2])),
        (
            "🔥 NAS100 SHORT 🔥\nEntry 18250\nSL 18320\nTP 18100",
            ("NAS100", "sell", 18250.0, None, 18320.0, [18100.0]),
        ),
        (
            "Sell GBPUSD @1.2650-1.2670 | SL 1.2710 | TP1 1.2600 | TP2 1.2550 | TP3 open",
            ("GBPUSD", "sell", None, (1.265, 1.267), 1.271, [1.26, 1.255]),
        ),
        (
            "Gold buy 2350/2345\nsl 2338\ntp 2360, 2370, 2380",
            ("XAUUSD", "buy", None, (2345.0, 2350.0), 2338.0, [2360.0, 2370.0, 2380.0]),
        ),
        (
            "US30 long @ 39,850 sl 39,700 tp1 40,000 tp2 40,150",
            ("US30", "buy", 39850.0, None, 39700.0, [40000.0, 40150.0]),
        ),
        ("SILVER BUY NOW 29.50 SL 29.10 TP 30.20", ("XAGUSD", "buy", 29.5, None, 29.1, [30.2])),
        ("XAUUSD\nBUY\n2050\nSL 2045\nTP 2060", ("XAUUSD", "buy", 2050.0, None, 2045.0, [2060.0])),
        (
            "Signal: Buy EURCHF at 0.9620, stop loss 0.9590, take profit 0.9680",
            ("EURCHF", "buy", 0.962, None, 0.959, [0.968]),
        ),
        (
            "ETH/USD short 3450-3480, SL 3550, targets 3350/3250",
            ("ETHUSD", "sell", None, (3450.0, 3480.0), 3550.0, [3350.0, 3250.0]),
        ),
        (
            "Sell USDCAD now\nStop loss: 1.3720\nTake profit 1: 1.3650\nTake profit 2: 1.3600",
            ("USDCAD", "sell", None, None, 1.372, [1.365, 1.36]),
        ),
        (
            "BUY XAUUSD @ 2,345.50\nSL @ 2,338.00\nTP @ 2,355.00",
            ("XAUUSD", "buy", 2345.5, None, 2338.0, [2355.0]),
        ),
        (
            "GOLD BUY ZONE 2340 - 2336\nSL 2330\nTP 2345\nTP 2350\nTP 2360",
            ("XAUUSD", "buy", None, (2336.0, 2340.0), 2330.0, [2345.0, 2350.0, 2360.0]),
        ),
        ("EURUSD buy 1,0850 SL 1,0820 TP 1,0900", ("EURUSD", "buy", 1.085, None, 1.082, [1.09])),
        ("XAUUSD | BUY | 2345 | SL 2338 | TP 2355", ("XAUUSD", "buy", 2345.0, None, 2338.0, [2355.0])),
        (
            "BUY 📈 XAUUSD\nEntry : 2345 - 2342\nTP1 : 2350\nTP2 : 2355\nSL : 2335",
            ("XAUUSD", "buy", None, (2342.0, 2345.0), 2335.0, [2350.0, 2355.0]),
        ),
        ("GBPJPY 📉 SELL\n@189.80\nSL 190.30\nTP 189.00", ("GBPJPY", "sell", 189.8, None, 190.3, [189.0])),
        ("Buy BTC 60k, SL 58k, TP 65k", ("BTCUSD", "buy", 60000.0, None, 58000.0, [65000.0])),
        (
            "LONG #SOLUSDT entry 145-148 SL 139 TP 160 175",
            ("SOLUSDT", "buy", None, (145.0, 148.0), 139.0, [160.0, 175.0]),
        ),
        (
            "XAU/USD SELL NOW @ 2355\nSL 2362\nTP 2348/2340/2330",
            ("XAUUSD", "sell", 2355.0, None, 2362.0, [2348.0, 2340.0, 2330.0]),
        ),
        (
            "SELL XAUUSD\nENTRY 2360\nTP 2350 2340 2330\nSL 2370",
            ("XAUUSD", "sell", 2360.0, None, 2370.0, [2350.0, 2340.0, 2330.0]),
        ),
        ("EURUSD: BUY @ 1.0850\nStop: 1.0820\nTarget: 1.0900", ("EURUSD", "buy", 1.085, None, 1.082, [1.09])),
        ("Short EURUSD 1.0850 stop 1.0880 target 1.0800", ("EURUSD", "sell", 1.085, None, 1.088, [1.08])),
        ("🟢 BUY 🟢\nGOLD\n@ 2050\nSL 2045\nTP 2060", ("XAUUSD", "buy", 2050.0, None, 2045.0, [2060.0])),
        (
            "NZDUSD BUY @ 0.6000-0.5980 SL 0.5950 TP 0.6050",
            ("NZDUSD", "buy", None, (0.598, 0.6), 0.595, [0.605]),
        ),
        ("EURUSD buy 1.0850-60 sl 1.0820 tp 1.0900", ("EURUSD", "buy", None, (1.085, 1.086), 1.082, [1.09])),
        (
            "XAUUSD SELL 2360 SL 2367 TP 2350 — possible TP2 2340",
            ("XAUUSD", "sell", 2360.0, None, 2367.0, [2350.0, 2340.0]),
        ),
        (
            "Re-entry: buy gold again at 2045 SL 2040 TP 2055",
            ("XAUUSD", "buy", 2045.0, None, 2040.0, [2055.0]),
        ),
    ],
)
def test_setups_in_many_layouts(text, expected):
    assert levels(only_open(text)) == expected


@pytest.mark.parametrize(
    ("text", "order_type"),
    [
        ("XAUUSD BUY LIMIT 1,950.50 - 1,948.00\nSL: 1,940.00\nTP: 1,955 / 1,960", "limit"),
        ("Sell Limit EURUSD 1.0950 SL 1.0980 TP 1.0900", "limit"),
        ("USDJPY: sell-limit at 152.00, tp 151.00, sl 152.50", "limit"),
        ("EUR/JPY sell stop 161.20 SL 161.80 TP 160.40", "stop"),
        ("Buy stop order on gold at 2065, SL 2058, TP 2080", "stop"),
        ("GBPUSD buy now, SL 1.2600, TP 1.2700", "market"),
        ("AUDUSD sell at market, SL 0.6650, TP 0.6550", "market"),
        ("Buy CADJPY instant execution SL 108.00 TP 110.00", "market"),
    ],
)
def test_order_type_words(text, order_type):
    assert only_open(text).order_type == order_type


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("XAUUSD 2050 BUY\nSL 2045\nTP 2060", ("XAUUSD", "buy", 2050.0, None, 2045.0, [2060.0])),
        ("XAUUSD.m BUY 2050 SL 2045 TP 2060", ("XAUUSD", "buy", 2050.0, None, 2045.0, [2060.0])),
        ("US30.cash buy 39000 sl 38900 tp 39200", ("US30", "buy", 39000.0, None, 38900.0, [39200.0])),
        ("Compra EURUSD 1.0850 SL 1.0820 TP 1.0900", ("EURUSD", "buy", 1.085, None, 1.082, [1.09])),
        ("XAUUSD vente 2050 SL 2055 TP 2040", ("XAUUSD", "sell", 2050.0, None, 2055.0, [2040.0])),
        ("xauusd sell4320 sl4330 tp4310", ("XAUUSD", "sell", 4320.0, None, 4330.0, [4310.0])),
        (
            "GOLD BUY NOW\nEntry 1: 4320\nEntry 2: 4315\nSL 4305\nTP 4335",
            ("XAUUSD", "buy", None, (4315.0, 4320.0), 4305.0, [4335.0]),
        ),
        ("Entry: 1.0850\nEURUSD BUY\nSL 1.0800\nTP 1.0900", ("EURUSD", "buy", 1.085, None, 1.08, [1.09])),
        (
            "Symbol: XAUUSD\nEntry: 2050\nDirection: BUY\nSL: 2045\nTP: 2060",
            ("XAUUSD", "buy", 2050.0, None, 2045.0, [2060.0]),
        ),
    ],
)
def test_less_common_layouts(text, expected):
    assert levels(only_open(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GOLD BUY NOW 4320\nSL 4310\nTP 4330\n\nGood luck everyone 🍀",
        "Our next trade: GOLD BUY NOW 4320 SL 4310 TP 4330",
        "Don't miss: gold buy now 4320 sl 4310 tp 4330",
        "Missed the entry? Buy gold again at 4320 SL 4310 TP 4330",
        "Buy gold now if you missed the first entry 4320 SL 4310 TP 4330",
        "GOLD BUY NOW 4320 SL 4310 TP 4330 ✅ Enjoy the profits",
        "GOLD BUY NOW 4320 SL 4310 TP 4330\nTrading involves risk of loss.",
        "Previous signal hit TP ✅\n\nNEW SIGNAL: GOLD BUY NOW 4320 SL 4310 TP 4330",
        "GOLD BUY NOW 4320 — continuation of yesterday's move, SL 4310 TP 4330",
        "GOLD BUY NOW 4320 SL 4310 TP 4330, close half at TP1",
    ],
)
def test_signals_wrapped_in_chatter_still_open(text):
    item = only_open(text)
    assert (item.symbol, item.side, item.stop_loss, item.take_profits) == ("XAUUSD", "buy", 4310.0, [4330.0])


def test_stop_is_the_stop_loss_unless_it_follows_the_direction():
    item = only_open("Sell GBPJPY 190.20, stop 190.80, target 189.60")
    assert item.order_type != "stop" and item.stop_loss == 190.8


def test_pip_distances_instead_of_prices():
    item = only_open("AUDJPY BUY\nEntry: 97.80\nSL: 30 pips\nTP: 50 pips / 90 pips")
    assert (item.stop_loss, item.take_profits, item.sl_pips, item.tp_pips) == (None, [], 30.0, [50.0, 90.0])
    glued = only_open("EURGBP sell 0.8530 sl 25p tp 40p")
    assert (glued.sl_pips, glued.tp_pips) == (25.0, [40.0])


def test_pip_annotations_next_to_prices_are_not_levels():
    item = only_open("EURUSD BUY 1.0850\nSL: 1.0800 (50 pips)\nTP: 1.0950 (100 pips)")
    assert (item.stop_loss, item.take_profits, item.sl_pips, item.tp_pips) == (1.08, [1.095], None, [])


def test_sizes_risk_and_ratios_are_not_levels():
    item = only_open("BUY 1 LOT XAUUSD 2050 SL 2045 TP 2060\nRisk: 1% | R:R 1:2 | lot size: 0.05")
    assert levels(item) == ("XAUUSD", "buy", 2050.0, None, 2045.0, [2060.0])
    item = only_open("Buy XAUUSD (lot 0.05) @ 2050 SL 2045 TP 2060 TP 2070 (50%)")
    assert levels(item) == ("XAUUSD", "buy", 2050.0, None, 2045.0, [2060.0, 2070.0])


def test_open_and_placeholder_targets_are_left_out():
    item = only_open("Buy EURUSD 1.0850\nTP1 1.0880\nTP2 1.0910\nTP3 open\nTP4\nSL open")
    assert item.take_profits == [1.088, 1.091] and item.stop_loss is None


def test_several_setups_in_one_post_keep_their_order():
    result = parse_message(
        "1. EURUSD buy 1.0850 SL 1.0820 TP 1.0900\n2. USDJPY sell 151.20 SL 151.60 TP 150.50\n"
        "3) GOLD buy 2050 SL 2045 TP 2060"
    )
    assert [levels(r) for r in result.results] == [
        ("EURUSD", "buy", 1.085, None, 1.082, [1.09]),
        ("USDJPY", "sell", 151.2, None, 151.6, [150.5]),
        ("XAUUSD", "buy", 2050.0, None, 2045.0, [2060.0]),
    ]


def test_a_header_repeating_the_setup_is_one_setup():
    item = only_open("EURUSD SELL\n\nEURUSD sell now @ 1.0850\nsl 1.0880\ntp 1.0800")
    assert levels(item) == ("EURUSD", "sell", 1.085, None, 1.088, [1.08])


def test_management_advice_after_a_setup_belongs_to_it():
    result = parse_message("GBPUSD BUY NOW 1.2650\nSL 1.2620\nTP 1.2700\n\nMove SL to BE at +20 pips")
    assert [r.kind for r in result.results] == ["open"]


def test_disclaimers_do_not_undo_a_setup():
    item = only_open(
        "XAUUSD SELL NOW\n2360-2365\nSL 2372\nTP 2350\nTP 2340\n\nNot financial advice. Manage risk."
    )
    assert item.entry_zone == (2360.0, 2365.0)


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("Buy cable now", "GBPUSD"),
        ("Sell the fiber now", "EURUSD"),
        ("dow jones short now", "US30"),
        ("BUY S&P 500 NOW", "SPX500"),
        ("Sell #DAX now", "GER40"),
        ("xauusdm buy now", "XAUUSD"),
        ("Buy $BTC now", "BTCUSD"),
        ("crude oil sell now", "USOIL"),
        ("Sell GBP/JPY now", "GBPJPY"),
        ("sell nas 100 now", "NAS100"),
    ],
)
def test_instrument_names(text, symbol):
    assert only_open(text).symbol == symbol


def test_stylised_unicode_and_superscripts_fold():
    item = only_open("𝐆𝐁𝐏𝐔𝐒𝐃 𝐁𝐔𝐘 1.2650\nSL 1.2620\nTP¹ 1.2680 TP² 1.2700")
    assert levels(item) == ("GBPUSD", "buy", 1.265, None, 1.262, [1.268, 1.27])
    fullwidth = only_open("ＥＵＲＵＳＤ ＳＥＬＬ １.０８５０")
    assert (fullwidth.symbol, fullwidth.side, fullwidth.entry) == ("EURUSD", "sell", 1.085)
