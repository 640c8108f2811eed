"""Normalisation and tokens: decoration goes, meaning stays."""

from __future__ import annotations

import pytest
from signalos.signals.parser.lexer import (
    END,
    NUM,
    PCT,
    PIPSF,
    SIDE,
    SIGNED,
    SL,
    SYM,
    TP,
    lex,
    number_parts,
    sentence_bounds,
)
from signalos.signals.parser.normalize import normalize


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("𝐗𝐀𝐔𝐔𝐒𝐃 𝙎𝙀𝙇𝙇", "xauusd sell"),
        ("TP¹ 2460 • TP² 2466", "tp1 2460 tp2 2466"),
        ("1️⃣ EURUSD ② GBPUSD", "eurusd gbpusd"),
        ("🎯 2055\n🛑 2045", "tp 2055\n sl 2045"),
        ("🎯 TP1: 4316", "tp1: 4316"),
        ("3,050–3,090 — “zone”", '3,050-3,090 - "zone"'),
        ("**bold** __x__ `code`", "bold x code"),
        ("S&P 500", "sp 500"),
        ("a \t  b\r\nc", "a b \nc"),
    ],
)
def test_normalize(raw, folded):
    assert normalize(raw) == folded


def kinds(text: str) -> list[tuple[int, object]]:
    return [(t[0], t[2]) for t in lex(normalize(text)).toks]


def test_numbers_in_every_format():
    assert number_parts("61,400") == [(61400.0, 61.4)]
    assert number_parts("1,950.50") == [(1950.5, None)]
    assert number_parts("4459,50") == [(4459.5, None)]
    assert number_parts("1,0850") == [(1.085, None)]
    assert number_parts("1.0900,1.0950") == [(1.09, None), (1.095, None)]
    assert number_parts("22.11.2026") == []


def test_numbers_that_are_not_prices():
    toks = lex(normalize("1) Setup #2 at 13:15, R:R 1:3, 2 lots, risk 2%, +40 pips, 15m chart")).toks
    nums = [(t[2], t[4]) for t in toks if t[0] == NUM]
    assert nums == [(2.0, PCT), (40.0, SIGNED | PIPSF)]


def test_phrases_are_single_tokens():
    assert kinds("stop loss 2045 take-profit 2060") == [(SL, None), (NUM, 2045.0), (TP, None), (NUM, 2060.0)]
    assert kinds("S/L 2045 T/P 2060")[0][0] == SL
    toks = lex(normalize("sell stop 190.20 then buy-limit")).toks
    assert [(t[0], t[2], t[3]) for t in toks if t[0] == SIDE] == [
        (SIDE, "sell", "stop"),
        (SIDE, "buy", "limit"),
    ]
    assert lex(normalize("buy stop loss 1.2")).toks[1][0] == SL  # a stop-loss, not a stop order


def test_two_word_instruments():
    assert [v for k, v in kinds("xau usd, eur/usd, crude oil, us 30, gold") if k == SYM] == [
        "XAUUSD",
        "EURUSD",
        "USOIL",
        "US30",
        "XAUUSD",
    ]


def test_sentences_agree_with_the_text():
    text = normalize("Close half. Buy gold now!\nSL 2045; s.l 2040 1. x 1.2588.")
    toks = lex(text).toks
    bounds = sentence_bounds(text)
    # ".", "!", newline, ";", the "." swallowed by "s.l", "1." (not a list marker mid-line), final "."
    assert [t[6] for t in toks if t[0] == END] == [0, 1, 3, 5, 6]
    assert len(bounds) == 7
