"""Lexer: normalised text -> a flat list of tokens with one meaning each.

A token is a number (flags: signed "+40", percentage, pips distance), an instrument, a
direction, a field keyword (SL, TP, entry), an order-type word, or a plain word with a role
(negation, hedge, result, possessive) the setup reader needs. Multi-word phrases are read as
one token here ("stop loss", "S/L", "take profit", "buy limit", "open price"), and things that
look like numbers but are never prices are dropped: list markers "1)" / "2.", "#1", times
"13:15", ratios "1:3".

Tokens are plain tuples (kind, text, value, extra, flags, line, sentence) because the parser
runs on every post of every channel: building objects would cost more than reading them.
Sentences end at a newline and at ".", "!", "?", ";" outside numbers, counted exactly like
`sentence_bounds` counts them in the text, so management matches (found by regex in the
text) and tokens agree on sentence numbers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from signalos.instruments import name_index

if TYPE_CHECKING:
    from signalos.signals.parser.provider_rules import ProviderRules

# Token kinds.
NUM, WORD, SYM, SIDE, SL, TP, ENTRY, SOFT, MARKET, LIMIT, STOPORD, OPEN, PIPS = range(13)
NL, END, PUNCT, NEG, HEDGE, RESULT, POSS = range(13, 20)
# Tuple fields.
K, TEXT, VAL, EXTRA, FLAGS, LINE, SENT = range(7)
# Flags.
SIGNED, PCT, PIPSF, MINUS, EXACT, WEAK, LONGSHORT = 1, 2, 4, 8, 16, 32, 64

Token = tuple  # (kind, text, value, extra, flags, line, sentence)

_SIDES: dict[str, tuple[str, str | None, int]] = {
    "buy": ("buy", None, 0), "buying": ("buy", None, 0),
    "sell": ("sell", None, 0), "selling": ("sell", None, 0),
    "long": ("buy", None, LONGSHORT), "short": ("sell", None, LONGSHORT),
    "shorting": ("sell", None, LONGSHORT),
    "buylimit": ("buy", "limit", 0), "selllimit": ("sell", "limit", 0),
    "buystop": ("buy", "stop", 0), "sellstop": ("sell", "stop", 0),
    "bullish": ("buy", None, WEAK), "bearish": ("sell", None, WEAK),
    # the same orders in the languages channels most often post in besides English
    "compra": ("buy", None, 0), "comprar": ("buy", None, 0), "compre": ("buy", None, 0),
    "venda": ("sell", None, 0), "vende": ("sell", None, 0), "vender": ("sell", None, 0),
    "venta": ("sell", None, 0), "achat": ("buy", None, 0), "acheter": ("buy", None, 0),
    "vente": ("sell", None, 0), "vendre": ("sell", None, 0), "kaufen": ("buy", None, 0),
    "verkaufen": ("sell", None, 0), "купить": ("buy", None, 0), "покупка": ("buy", None, 0),
    "продать": ("sell", None, 0), "продажа": ("sell", None, 0),
}

_WORD_KINDS: dict[str, int] = {
    **dict.fromkeys(("sl", "sls", "stoploss", "invalidation", "invalid", "inval"), SL),
    **dict.fromkeys(("tp", "tps", "tp's", "target", "targets", "tgt", "tgts", "takeprofit", "targeting"), TP),
    **dict.fromkeys(("entry", "entries", "enter"), ENTRY),
    **dict.fromkeys(("at", "zone", "area", "around", "near", "between", "from", "range", "band", "region",
                     "price"), SOFT),
    **dict.fromkeys(("now", "market", "cmp", "instant", "instantly", "immediately", "immediate", "mkt",
                     "asap"), MARKET),
    "limit": LIMIT,
    **dict.fromkeys(("pips", "pip", "points", "pts", "pipettes"), PIPS),
    **dict.fromkeys(("not", "no", "never", "avoid", "without", "cant", "can't", "don't", "dont", "nothing"),
                    NEG),
    **dict.fromkeys((
        "possible", "possibly", "potential", "potentially", "maybe", "perhaps", "might", "could", "may",
        "expect", "expecting", "expected", "anticipate", "anticipating", "looking", "look", "watch",
        "watching", "wait", "waiting", "consider", "considering", "prepare", "preparing", "ready", "soon",
        "coming", "upcoming", "forming", "idea", "ideas", "plan", "planning", "if", "when", "whenever",
        "once", "unless", "until", "should", "would", "likely", "probably", "think", "believe", "bias",
        "outlook", "forecast", "scenario", "analysis", "chance", "suppose", "imagine", "was", "were",
        "had", "been", "already", "earlier", "mentioned", "told", "still", "education", "educational",
        "example", "lesson", "learn", "momentum", "pressure", "sentiment", "structure", "trend",
        "buyers", "sellers", "bulls", "bears", "view", "opinion", "thoughts", "prediction", "expectation",
    ), HEDGE),
    **dict.fromkeys((
        "hit", "hits", "hitted", "reached", "smashed", "secured", "banked", "booked", "achieved", "closed",
        "inprofit", "win", "wins", "won", "done", "running", "congrats", "congratulations", "nailed",
        "delivered", "delivering", "gained", "bagged", "cashed", "recap", "summary", "results", "result",
        "report", "performance", "triggered", "activated", "filled", "made", "earned", "collected",
        "active", "missed", "winning", "winner", "winners",
    ), RESULT),
    **dict.fromkeys(("our", "my", "your", "their", "his", "her", "the", "this", "that", "these", "those",
                     "previous", "last", "its", "any", "every", "next"), POSS),
}
# One lookup per word: word -> (kind, value, extra, flags).
_LEXICON: dict[str, tuple[int, str | None, str | None, int]] = {
    **{w: (kind, None, None, 0) for w, kind in _WORD_KINDS.items()},
    **{w: (SIDE, side, order, flags) for w, (side, order, flags) in _SIDES.items()},
}
# Words whose meaning depends on the next word ("stop loss" vs "stop order", "buy limit").
_PAIR_STARTS = frozenset((
    "stop", "take", "profit", "open", "opening", "buy", "sell", "long", "short", "s", "t", "in", "wait",
    "waiting", "instant", "si", "as", "so", "lot", "lots", "lotsize", "volume",
))
_KEYWORD_INDEX = re.compile(r"^(tp|t|tgt|target|sl)(\d+)$")
_GLUED_SIDE = re.compile(r"^(buy|sell|long|short)(\d{2,})$")
_PIP_SUFFIXES = frozenset(("p", "pip", "pips", "pts", "pt", "points"))
_PIP_WORDS = frozenset(("pips", "pip", "points", "pts", "pipettes"))
_NOT_A_SIDE_AFTER = frozenset(("term", "run", "time", "squeeze", "side", "off", "terms", "while", "ago"))
_END_CHARS = frozenset(".!?;")
_SIZE_WORDS = frozenset(("lot", "lots", "lotsize", "contracts", "contract", "units", "shares"))

# One regex splits the post; Python classifies each piece by its first character.
_LEX = re.compile(
    r"[^\W\d_][^\W_]*(?:'[^\W\d_]+)?"  # word ("tp1", "don't", "xauusd")
    r"|(?<![^\s(])[+-]\d+(?:[.,]\d+)*[^\W\d_]*"  # signed number: "+40", "(-35"
    r"|#\d+|\d+:\d+(?!\d)"  # "#1", "13:15", "1:3": never prices
    r"|\d+(?:[.,]\d+)*[^\W\d_]*"  # number, maybe with letters glued on ("30p", "15m")
    r"|\S|\n"
)
_DIGITS = frozenset("0123456789")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_NUMBER_SUFFIX = re.compile(r"^(\d+(?:[.,]\d+)*)(.*)$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^(?:\d+,\d{1,2}|\d,\d+)$")
_BOUNDARY = re.compile(r"[!?;\n]|\.(?!\d)|(?<!\d)\.")


def sentence_bounds(s: str) -> list[int]:
    """Offsets just after each sentence boundary of `s` (the lexer counts the same ones)."""
    return [m.end() for m in _BOUNDARY.finditer(s)]


def number_parts(raw: str) -> list[tuple[float, float | None]]:
    """A raw digit run -> [(value, alternative reading)]: "61,400" thousands (or 61.4),
    "4459,50" decimal comma, "1.0900,1.0950" a list of two, "22.11.2026" nothing (a date)."""
    if "," not in raw:
        if raw.count(".") > 1:
            return []
        return [(float(raw), None)]
    if _THOUSANDS.match(raw):
        alt = float(raw.replace(",", ".")) if raw.count(",") == 1 and "." not in raw else None
        return [(float(raw.replace(",", "")), alt)]
    if _DECIMAL_COMMA.match(raw):
        return [(float(raw.replace(",", ".")), None)]
    return [(float(part), None) for part in raw.split(",") if part and part.count(".") <= 1]


class Lexed:
    __slots__ = ("line_starts", "toks", "words")

    def __init__(self, toks: list[Token], words: set[str], line_starts: list[int]) -> None:
        self.toks = toks
        self.words = words  # every piece of the post (management triggers)
        self.line_starts = line_starts  # index of the first token of each line


def lex(s: str, rules: ProviderRules | None = None) -> Lexed:
    """Tokens of a normalised post (see normalize.normalize)."""
    index = name_index()
    combo_first = _combo_first(index)
    raw = _LEX.findall(s)
    n = len(raw)
    toks: list[Token] = []
    append = toks.append
    line_starts = [0]
    line = sent = 0
    line_first = True  # no token yet on this line
    # Word classification is cached for the generic parser; a provider's aliases or keywords
    # change what words mean, so those posts classify afresh.
    if rules is not None and (rules.symbol_aliases or rules.has_keywords):
        cache, table = None, _MARKS
    else:
        rules, cache = None, _WORD_CACHE
        table = cache
    i = 0
    while i < n:
        piece = raw[i]
        i += 1
        info = table.get(piece)
        if info is None:
            c = piece[0]
            if c in _DIGITS or (len(piece) > 1 and c in "+-#"):
                first, line_first = line_first, False
                if c == "#" or ":" in piece:
                    continue  # "#1", "13:15", "1:3"
                if first and len(piece) <= 2 and i < n and raw[i] in (")", ".") and piece.isdigit() and (
                    i + 1 >= n or not (raw[i + 1][0] in _DIGITS or raw[i + 1] == "\n")
                ):
                    if raw[i] == ".":
                        sent += 1  # "2. GBPUSD ...": a list marker, whose full stop the text counts
                    i += 1
                    continue
                flags = 0
                if c in "+-":
                    flags = SIGNED | MINUS if c == "-" else SIGNED
                    piece = piece[1:]
                num, suffix = piece, ""
                if piece[-1] not in _DIGITS:
                    m = _NUMBER_SUFFIX.match(piece)
                    num, suffix = m.group(1), m.group(2)  # type: ignore[union-attr]
                    if suffix not in _PIP_SUFFIXES and suffix != "k":
                        append((WORD, piece, None, None, 0, line, sent))  # "15m", "2nd", "4h": not prices
                        continue
                if suffix and suffix != "k":
                    flags |= PIPSF
                elif i < n:
                    nxt = raw[i]
                    if nxt in _PIP_WORDS:
                        flags |= PIPSF
                    elif nxt == "%":
                        flags |= PCT
                    elif nxt in _SIZE_WORDS:
                        continue  # "1 lot", "0.5 lots": a size, not a price
                if "," not in num and num.count(".") <= 1:
                    value = float(num)
                    append((NUM, num, value * 1000 if suffix == "k" else value, None, flags, line, sent))
                else:
                    for value, alt in number_parts(num):
                        append((NUM, num, value, alt, flags, line, sent))
                continue
            info = _classify(piece, index, combo_first, rules)
            if cache is not None and len(cache) < _CACHE_LIMIT:
                cache[piece] = info
        mode = info[0]
        if mode == _PLAIN:  # the common case first: a word read on its own
            line_first = False
            append(info[1] + (line, sent))
            continue
        if mode >= _MARK:  # punctuation and line breaks
            if mode == _BREAK:
                if not line_first:
                    append((NL, "\n", None, None, 0, line, sent))
                    line += 1
                    line_starts.append(len(toks))
                    line_first = True
                sent += 1
                continue
            line_first = False
            if mode != _QUIET:
                append(info[1] + (line, sent))
                if mode == _STOP:
                    sent += 1
            continue
        line_first = False
        word = piece
        if mode == _PAIRED:
            j, tok = _pair(word, raw, i, n, line, sent)
            if tok is not None:
                if "." in raw[i:j]:
                    sent += 1  # "s.l" swallowed a full stop: the text counts it as a boundary
                i = j
                append(tok)
                continue
        elif mode == _GLUED:
            for tpl in info[1]:
                append((*tpl, line, sent))
            continue
        elif mode == _COMBO and i < n:
            # Instruments written as two words: "xau usd", "eur/usd", "crude oil", "us 30".
            nx = i + 1 if raw[i] in ("/", "-") and i + 1 < n else i
            nxt = raw[nx]
            if nxt[0].isalnum():
                symbol = _lookup((word + nxt).upper(), index, rules)
                if symbol is not None:
                    i = nx + 1
                    append((SYM, word + " " + nxt, symbol, None, 0, line, sent))
                    continue
        append(info[1] + (line, sent))
    # Every piece of the post, for management triggers (numbers and marks in it are harmless).
    return Lexed(toks, set(raw), line_starts)


def _pair(word: str, raw: list[str], i: int, n: int, line: int, sent: int) -> tuple[int, Token | None]:
    """Read `word` together with what follows it; (next index, token), or (i, None) when the
    word means what it means alone."""
    nxt = raw[i] if i < n else ""
    joined = nxt in ("-", "/", ".") and i + 1 < n
    after = raw[i + 1] if joined else ""  # the word after a "-", "/" or "."
    if word == "stop":
        if nxt in ("loss", "losses"):
            return i + 1, (SL, "sl", None, None, 0, line, sent)
        if nxt == "-" and after in ("loss", "losses"):
            return i + 2, (SL, "sl", None, None, 0, line, sent)
        if nxt in ("order", "orders", "entry"):
            return i, (STOPORD, word, None, None, 0, line, sent)
        return i, (SL, word, None, None, 0, line, sent)
    if word == "take":
        if nxt in ("profit", "profits"):
            return i + 1, (TP, "tp", None, None, 0, line, sent)
        if nxt == "-" and after in ("profit", "profits"):
            return i + 2, (TP, "tp", None, None, 0, line, sent)
        return i, None
    if word == "profit":
        if nxt in ("target", "targets"):
            return i + 1, (TP, "tp", None, None, 0, line, sent)
        return i, None
    if word in ("open", "opening"):
        if nxt == "price":
            return i + 1, (ENTRY, "entry", None, None, 0, line, sent)
        return i, (OPEN, word, None, None, 0, line, sent) if word == "open" else None
    if word in ("buy", "sell"):
        if nxt in ("limit", "stop"):
            order, j = nxt, i + 1
        elif nxt == "-" and after in ("limit", "stop"):
            order, j = after, i + 2
        else:
            order, j = "", i
        if order and not (order == "stop" and j < n and raw[j] in ("loss", "losses", "sl")):
            return j, (SIDE, word + order, word, order, 0, line, sent)  # "buy limit", "sell-stop"
        if nxt in _NOT_A_SIDE_AFTER or (nxt == "-" and after in _NOT_A_SIDE_AFTER):
            return i, (WORD, word, None, None, 0, line, sent)  # "sell-off", "buy side"
        return i, None
    if word in ("long", "short"):
        if nxt in _NOT_A_SIDE_AFTER or (nxt == "-" and after in _NOT_A_SIDE_AFTER):
            return i, (WORD, word, None, None, 0, line, sent)  # "long term", "short squeeze"
        return i, None
    if word in ("s", "t"):  # "s/l", "s.l", "t/p", "t.p"
        if nxt in ("/", ".") and after == ("l" if word == "s" else "p"):
            kind = SL if word == "s" else TP
            return i + 2, (kind, "sl" if word == "s" else "tp", None, None, 0, line, sent)
        return i, None
    if word == "in":
        if nxt in ("profit", "profits"):
            return i + 1, (RESULT, "inprofit", None, None, 0, line, sent)
        return i, None
    if word in ("wait", "waiting"):  # "wait is over": the signal is here, not a hedge
        if nxt == "is" and i + 1 < n and raw[i + 1] == "over":
            return i + 2, (WORD, "wait is over", None, None, 0, line, sent)
        return i, None
    if word in ("as", "so"):  # "as long as gold holds 2000": a condition
        if nxt == "long" and i + 1 < n and raw[i + 1] == "as":
            return i + 2, (HEDGE, "as long as", None, None, 0, line, sent)
        return i, None
    if word in ("lot", "lots", "lotsize", "volume"):  # "lot 0.05", "lot size: 0.01": a size, not a price
        j = i
        while j < n and raw[j] in (":", "size", "=", "-"):
            j += 1
        if j < n and raw[j][0] in _DIGITS:
            return j + 1, (WORD, word, None, None, 0, line, sent)
        return i, None
    if word == "instant":
        return (i + 1 if nxt == "execution" else i), (MARKET, word, None, None, 0, line, sent)
    if word == "si":  # a common misspelling of "sl": "SI : 5074.2"
        if nxt == ":" or nxt[:1] in _DIGITS:
            return i, (SL, "sl", None, None, 0, line, sent)
        return i, None
    return i, None


# How a word is read on its own: (mode, token without line and sentence). PLAIN: that token;
# PAIRED: try `_pair` first; GLUED: "sl4308" -> keyword + number (the second item holds both
# tokens); COMBO: may start a two-word instrument name.
_PLAIN, _PAIRED, _GLUED, _COMBO = range(4)
# Punctuation and line breaks: MARK (a PUNCT or ENTRY token), STOP (a sentence end), BREAK.
_MARK, _STOP, _BREAK, _QUIET = 10, 11, 12, 13
_MARKS: dict[str, tuple] = {
    **{ch: (_MARK, (PUNCT, ch, None, None, 0)) for ch in ":/~|()%=-"},
    **{ch: (_QUIET, None) for ch in ",&+#$'\""},  # separators nothing reads: no token at all
    **{ch: (_STOP, (END, ch, None, None, 0)) for ch in _END_CHARS},
    "@": (_MARK, (ENTRY, "@", None, None, 0)),
    "\n": (_BREAK, (NL, "\n", None, None, 0)),
}
_CACHE_LIMIT = 50_000
_WORD_CACHE: dict[str, tuple] = dict(_MARKS)  # grows with the words posts use, up to the limit


def _classify(word: str, index: dict, combo_first: frozenset[str], rules: ProviderRules | None) -> tuple:
    """(mode, token without its line and sentence) for a word read on its own."""
    mode = _PAIRED if word in _PAIR_STARTS else _PLAIN
    tpl = _LEXICON.get(word)
    if tpl is not None:
        return mode, (tpl[0], word, tpl[1], tpl[2], tpl[3])
    if word[-1] in _DIGITS and word[0] in "bslt":
        m = _GLUED_SIDE.match(word)
        if m is not None:  # "sell4320": a direction and a price written together
            side = _SIDES[m.group(1)]
            return _GLUED, ((SIDE, m.group(1), side[0], side[1], side[2]),
                            (NUM, m.group(2), float(m.group(2)), None, 0))
        m = _KEYWORD_INDEX.match(word)
        if m is not None:
            key, digits = m.group(1), m.group(2)
            kind = SL if key == "sl" else TP
            if len(digits) <= 2:
                return mode, (kind, word, None, int(digits), 0)
            # "sl4308": keyword and price glued together
            return _GLUED, ((kind, key, None, None, 0), (NUM, digits, float(digits), None, 0))
    upper = word.upper()
    if mode == _PLAIN and (upper in combo_first or (rules is not None and rules.symbol_aliases)):
        mode = _COMBO
    symbol = _lookup(upper, index, rules)
    if symbol is not None:
        return mode, (SYM, word, symbol, None, EXACT if upper == symbol else 0)
    if rules is not None and rules.has_keywords:
        custom = rules.side_of(word)
        if custom is not None:
            return mode, (SIDE, word, custom, None, 0)
    return mode, (WORD, word, None, None, 0)


_COMBO_FIRST: tuple[dict, frozenset[str]] | None = None


def _combo_first(index: dict) -> frozenset[str]:
    """Every way a dictionary name can start when written as two words ("XAU" of "XAU USD",
    "CRUDE" of "CRUDE OIL", "US" of "US 30"): only such words look at the next one."""
    global _COMBO_FIRST
    if _COMBO_FIRST is None or _COMBO_FIRST[0] is not index:
        firsts = frozenset(key[:k] for key in index for k in range(1, len(key)))
        _COMBO_FIRST = (index, firsts)
    return _COMBO_FIRST[1]


def _lookup(key: str, index: dict, rules: ProviderRules | None) -> str | None:
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
