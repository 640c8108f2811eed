"""Lexer: normalised text -> a flat list of tokens with one meaning each.

A token is a number (with flags: signed "+40", percentage, pips distance, or not a price at
all: a time "13:15", a list index "#1"/"1)"), an instrument, a direction, a field keyword
(SL, TP, entry), an order-type word, or a plain word with a role (negation, hedge, result,
possessive) the setup reader needs. Lines and sentences are numbered so the reader can ask
"same line?" or "same sentence?" in O(1).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from signalos.instruments import Instrument, name_index

if TYPE_CHECKING:
    from signalos.signals.parser.provider_rules import ProviderRules

# Token kinds.
NUM, WORD, SYM, SIDE, SL, TP, ENTRY, SOFT, MARKET, LIMIT, STOPORD, OPEN, PIPS = range(13)
NL, END, PUNCT, NEG, HEDGE, RESULT, POSS = range(13, 20)

# Flags.
SIGNED, PCT, PIPSF, SKIP, EXACT, WEAK, LONGSHORT = 1, 2, 4, 8, 16, 32, 64


class Tok:
    __slots__ = ("end", "extra", "flags", "kind", "line", "sent", "start", "text", "value")

    def __init__(self, kind: int, text: str, start: int, end: int, value: object = None,
                 extra: object = None, flags: int = 0) -> None:
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end
        self.value = value
        self.extra = extra
        self.flags = flags
        self.line = 0
        self.sent = 0

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Tok({self.kind},{self.text!r},{self.value!r},f={self.flags},l={self.line},s={self.sent})"


_SIDES = {
    "buy": ("buy", None, 0), "buying": ("buy", None, 0),
    "sell": ("sell", None, 0), "selling": ("sell", None, 0),
    "long": ("buy", None, LONGSHORT), "short": ("sell", None, LONGSHORT),
    "shorting": ("sell", None, LONGSHORT),
    "buylimit": ("buy", "limit", 0), "selllimit": ("sell", "limit", 0),
    "buystop": ("buy", "stop", 0), "sellstop": ("sell", "stop", 0),
    "bullish": ("buy", None, WEAK), "bearish": ("sell", None, WEAK),
}

_WORD_KINDS: dict[str, int] = {
    **dict.fromkeys(("sl", "invalidation", "invalid", "inval"), SL),
    **dict.fromkeys(("tp", "tps", "tp's", "target", "targets", "tgt", "tgts", "tg"), TP),
    **dict.fromkeys(("entry", "entries", "enter"), ENTRY),
    **dict.fromkeys(("at", "zone", "area", "around", "near", "between", "from", "range", "band", "region",
                     "price"), SOFT),
    **dict.fromkeys(("now", "market", "cmp", "instant", "instantly", "immediately", "immediate", "mkt",
                     "asap"), MARKET),
    "limit": LIMIT,
    "open": OPEN,
    **dict.fromkeys(("pips", "pip", "points", "pts", "pipettes"), PIPS),
    **dict.fromkeys(("not", "no", "never", "avoid", "without", "cant", "can't", "nothing"), NEG),
    **dict.fromkeys((
        "possible", "possibly", "potential", "potentially", "maybe", "perhaps", "might", "could", "may",
        "expect", "expecting", "expected", "anticipate", "anticipating", "looking", "look", "watch",
        "watching", "wait", "waiting", "consider", "considering", "prepare", "preparing", "ready", "soon",
        "coming", "upcoming", "forming", "idea", "ideas", "plan", "planning", "if", "when", "whenever",
        "once", "unless", "until", "should", "would", "likely", "probably", "think", "believe", "bias",
        "outlook", "forecast", "scenario", "analysis", "chance", "suppose", "imagine", "was", "were",
        "had", "been", "already", "earlier", "mentioned", "told", "still", "education", "educational",
        "example", "lesson", "learn", "momentum", "pressure", "sentiment", "structure", "trend",
        "buyers", "sellers", "bulls", "bears",
    ), HEDGE),
    **dict.fromkeys((
        "hit", "hits", "hitted", "reached", "smashed", "secured", "banked", "booked", "achieved", "closed",
        "inprofit", "win", "wins", "won", "loss", "lost", "done", "running", "success", "successful",
        "congrats", "congratulations", "boom", "nailed", "delivered", "delivering", "gained", "bagged",
        "cashed", "recap", "summary", "results", "result", "report", "performance", "yesterday",
        "yesterday's", "profits", "triggered", "activated", "filled",
    ), RESULT),
    **dict.fromkeys(("our", "my", "your", "their", "his", "her", "the", "this", "that", "these", "those",
                     "previous", "last", "its", "any", "every", "next"), POSS),
}
_KEYWORD_INDEX = re.compile(r"^(tp|t|tgt|target|sl)(\d+)$")
_PIP_SUFFIXES = frozenset(("p", "pip", "pips", "pts", "pt", "points"))
_ORDINALS = frozenset(("st", "nd", "rd", "th"))
_END_CHARS = frozenset(".!?;")
_SIGN_BEFORE = frozenset(" \n(")

_LEX = re.compile(r"(\d+(?:[.,]\d+)*)([^\W\d_]+)?|([^\W\d_][^\W_]*(?:'[^\W\d_]+)?)|(\n)|(\S)")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^(?:\d+,\d{1,2}|\d,\d+)$")
_COMBINABLE_GAP = frozenset(("", " ", "/", "-", " / ", " - ", "."))


def _number_parts(raw: str) -> list[tuple[float, float | None]]:
    """A raw digit run -> [(value, alternative reading)]: "61,400" thousands, "4459,50" decimal
    comma, "1.0900,1.0950" a list of two, "22.11.2026" nothing (a date, not a price)."""
    if "," not in raw:
        if raw.count(".") > 1:
            return []
        return [(float(raw), None)]
    if _THOUSANDS.match(raw):
        value = float(raw.replace(",", ""))
        alt = float(raw.replace(",", ".")) if raw.count(",") == 1 and "." not in raw else None
        return [(value, alt)]
    if _DECIMAL_COMMA.match(raw):
        return [(float(raw.replace(",", ".")), None)]
    out: list[tuple[float, float | None]] = []
    for part in raw.split(","):
        if part and part.count(".") <= 1:
            out.append((float(part), None))
    return out


def _lookup(key: str, index: dict[str, Instrument], rules: ProviderRules | None) -> str | None:
    if rules is not None:
        aliased = rules.alias(key)
        if aliased is not None:
            return aliased
    inst = index.get(key)
    if inst is not None:
        return inst.symbol
    # A broker suffix glued to a symbol ("xauusdm", "eurusdc"): the first six letters are a symbol.
    if 7 <= len(key) <= 8 and key[:6].isalpha():
        inst = index.get(key[:6])
        if inst is not None and inst.symbol == key[:6]:
            return inst.symbol
    return None


def lex(s: str, rules: ProviderRules | None = None) -> list[Tok]:
    """Tokens of a normalised post (see normalize.normalize)."""
    index = name_index()
    raw = [(m.lastindex, m.group(m.lastindex), m.start(), m.end(), m.group(2)) for m in _LEX.finditer(s)]
    toks: list[Tok] = []
    append = toks.append
    n = len(raw)
    i = 0
    line = sent = 0
    while i < n:
        group, text, start, end, suffix = raw[i]
        i += 1
        if group == 1:  # a number, maybe with letters glued on
            if suffix is not None and suffix not in _PIP_SUFFIXES and suffix != "k":
                append(Tok(WORD, text + suffix, start, end))  # "15m", "2nd", "4h": not prices
                continue
            parts = _number_parts(text)
            flags = PIPSF if suffix is not None and suffix != "k" else 0
            if start >= 1 and s[start - 1] in "+-" and (start == 1 or s[start - 2] in _SIGN_BEFORE):
                flags |= SIGNED
            scale = 1000.0 if suffix == "k" else 1.0
            for value, alt in parts:
                append(Tok(NUM, text, start, end, value * scale, alt, flags))
            # A symbol written as name + number: "us 30", "nas 100" were handled with the word.
            continue
        if group == 3:
            word = text
            kind = _WORD_KINDS.get(word)
            if kind is not None:
                append(Tok(kind, word, start, end))
                continue
            side = _SIDES.get(word)
            if side is not None:
                append(Tok(SIDE, word, start, end, side[0], side[1], side[2]))
                continue
            if word == "stop":
                nxt = raw[i][1] if i < n else ""
                kind = STOPORD if nxt in ("order", "orders", "entry") else SL
                append(Tok(kind, word, start, end))
                continue
            if word == "si" and i < n and (raw[i][1] == ":" or raw[i][0] == 1):
                append(Tok(SL, word, start, end))  # a common misspelling of "sl": "SI : 5074.2"
                continue
            m = _KEYWORD_INDEX.match(word)
            if m is not None:
                key, digits = m.group(1), m.group(2)
                kind = SL if key == "sl" else TP
                if len(digits) <= 2:
                    append(Tok(kind, word, start, end, None, int(digits)))
                else:  # "sl4308": keyword and price glued together
                    append(Tok(kind, key, start, start + len(key)))
                    append(Tok(NUM, digits, start + len(key), end, float(digits)))
                continue
            # Instruments: two words first ("xau usd", "eur/usd", "crude oil", "us 30"), then one.
            if len(word) <= 6 and i < n:
                nx = i
                if raw[nx][1] in "/-." and raw[nx][2] == end and nx + 1 < n and raw[nx + 1][2] == raw[nx][3]:
                    nx += 1  # "eur/usd", "xau-usd"
                if raw[nx][0] in (1, 3) and s[end:raw[nx][2]] in _COMBINABLE_GAP:
                    symbol = _lookup((word + raw[nx][1]).upper(), index, rules)
                    if symbol is not None:
                        nend = raw[nx][3]
                        i = nx + 1
                        append(Tok(SYM, s[start:nend], start, nend, symbol, None, 0))
                        continue
            symbol = _lookup(word.upper(), index, rules)
            if symbol is not None:
                append(Tok(SYM, word, start, end, symbol, None, EXACT if word.upper() == symbol else 0))
                continue
            if rules is not None and rules.has_keywords:
                custom = rules.side_of(word)
                if custom is not None:
                    append(Tok(SIDE, word, start, end, custom, None, 0))
                    continue
            append(Tok(WORD, word, start, end))
            continue
        if group == 4:
            append(Tok(NL, text, start, end))
            continue
        if text in _END_CHARS:
            append(Tok(END, text, start, end))
        elif text == "@":
            append(Tok(ENTRY, text, start, end))
        else:
            append(Tok(PUNCT, text, start, end))

    # Second pass: context flags and line/sentence numbers.
    count = len(toks)
    line_start = True
    for j in range(count):
        t = toks[j]
        t.line = line
        t.sent = sent
        kind = t.kind
        if kind == NL:
            line += 1
            sent += 1
            line_start = True
            continue
        if kind == END:
            sent += 1
            continue
        if kind == NUM:
            nxt = toks[j + 1] if j + 1 < count else None
            if nxt is not None:
                if nxt.kind == PIPS:
                    t.flags |= PIPSF
                elif nxt.text == "%":
                    t.flags |= PCT
                elif nxt.text == ":" and nxt.start == t.end and j + 2 < count:
                    after = toks[j + 2]
                    if after.kind == NUM and after.start == nxt.end:  # "13:15", "1:3"
                        t.flags |= SKIP
                        after.flags |= SKIP
                elif line_start and nxt.start == t.end and (
                    nxt.text == ")" or (nxt.kind == END and nxt.text == "." and j + 2 < count
                                        and toks[j + 2].kind not in (NUM, NL))
                ):
                    t.flags |= SKIP  # "1) EURUSD ...", "2. GBPUSD ..."
            if j and toks[j - 1].text == "#" and toks[j - 1].end == t.start:
                t.flags |= SKIP  # "#1"
        line_start = False
    return toks
