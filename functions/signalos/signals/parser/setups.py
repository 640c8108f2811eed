"""Open setups: find the heads (a direction bound to an instrument, said as an order), then
read each head's segment of the post field by field.

A head is rejected, and says why, when the direction is negated ("do not buy"), hedged or
conditional in its sentence ("possible buy", "if price closes above ..., buy"), refers to an
existing trade ("our buy entry"), is part of a management sentence ("close EURUSD sell"), or
when its segment reads as a results post ("TP1 hit", "+120").

A segment runs from the head's line to the next head. Inside it a small state machine reads
numbers by the field they belong to: right after the head (or after "@"/"entry"/"at") numbers
are the entry or zone, after SL the stop, after TP/targets the take-profits; a word that
belongs to none of these ends the field, so commentary prices ("buyers may defend 4030") are
never read as levels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from signalos.instruments import Instrument, lookup_instrument
from signalos.signals.parser.lexer import (
    END,
    ENTRY,
    HEDGE,
    LIMIT,
    LONGSHORT,
    MARKET,
    NEG,
    NL,
    NUM,
    OPEN,
    PCT,
    PIPS,
    PIPSF,
    POSS,
    PUNCT,
    RESULT,
    SIDE,
    SIGNED,
    SKIP,
    SL,
    SOFT,
    STOPORD,
    SYM,
    TP,
    WEAK,
    WORD,
    Tok,
)

if TYPE_CHECKING:
    from signalos.signals.parser.provider_rules import ProviderRules

# Fields of the reader.
F_NONE, F_PRE, F_ENTRY, F_SL, F_TP = range(5)

# Words that may sit between a head and its entry price without ending the "pre" field.
_PRE_FILLER = frozenset((
    "a", "an", "in", "on", "of", "for", "here", "order", "orders", "pending", "position", "signal", "setup",
    "trade", "again", "it", "pair", "type", "direction", "action", "please", "scalp", "scalping", "swing",
    "intraday", "vip", "premium", "free", "alert", "call", "fast", "quick", "guys", "team", "add", "layer",
    "is", "are", "we", "i", "i'm", "im", "am", "placing", "opening", "taking", "entering", "going", "go",
    "new", "fresh", "this", "our", "the", "my", "level", "levels", "price", "value", "or", "and", "also",
    "with", "small", "lot", "lots", "risk", "mode", "limit", "stop", "currently", "current", "spot",
))
_SL_FILLER = frozenset(("at", "to", "is", "above", "below", "level", "price", "around", "near", "of", "the",
                        "be", "on", "or", "-", "strict", "hard", "fixed", "final", "only", "distance"))
_TP_FILLER = frozenset((
    "then", "and", "or", "levels", "level", "at", "to", "first", "second", "third", "fourth", "fifth",
    "final", "next", "extended", "is", "are", "the", "price", "zone", "area", "around", "near", "of", "-",
    "1st", "2nd", "3rd", "4th", "5th", "6th",
))
_ENTRY_FILLER = frozenset(("at", "or", "and", "price", "zone", "area", "around", "near", "between", "from",
                           "range", "band", "region", "level", "is", "the", "of", "now", "market", "better"))
_RANGE = frozenset(("-", "/", "~", "to", "and"))
# A direction followed by these is a noun phrase, not an order ("buy signals daily", "sell orders above").
_NOT_ORDER_AFTER = frozenset((
    "signals", "orders", "positions", "trades", "ideas", "setups", "opportunities", "volume", "volumes",
    "interest", "liquidity", "candle", "candles", "wick", "wicks", "program", "button", "programs",
    "strategy", "strategies", "bot", "bots", "course", "group", "channel", "room", "members",
))
_AUDIENCE = frozenset(("you", "u", "anyone", "someone", "those", "everyone", "everybody", "ya"))
_CONDITIONAL = frozenset(("if", "when", "whenever", "once", "unless", "until"))


@dataclass(slots=True)
class Head:
    side_idx: int
    side: str
    symbol: str | None
    sym_idx: int | None
    binding: str  # "line", "near", "default", "none"
    order_type: str | None
    weak: bool


@dataclass(slots=True)
class Draft:
    """One open setup as read, before sanity checks and confidence."""

    head: Head
    start: int  # char offset of the head (orders results by position)
    seg_end: int  # char offset where the segment ends
    entry: float | None = None
    zone: tuple[float, float] | None = None
    stop_loss: float | None = None
    sl_pips: float | None = None
    sl_open: bool = False
    take_profits: list[float] = field(default_factory=list)
    tp_pips: list[float] = field(default_factory=list)
    order_type: str = "market"
    order_explicit: bool = False
    market_cue: bool = False
    stray_numbers: int = 0
    warnings: list[str] = field(default_factory=list)
    penalty: float = 0.0


@dataclass(slots=True)
class HeadScan:
    heads: list[Head]
    rejected: list[str]  # why candidate heads were not orders
    unbound: int  # strong directions with no instrument to bind to


def _words_between(toks: list[Tok], a: int, b: int) -> int:
    lo, hi = (a, b) if a < b else (b, a)
    return sum(1 for t in toks[lo + 1:hi] if t.kind != PUNCT)


def _bind_symbol(toks: list[Tok], i: int, max_gap: int) -> tuple[int | None, str]:
    """Index of the instrument the direction at i belongs to, and how it was found."""
    t = toks[i]
    best: tuple[int, int, int] | None = None  # (not exact, gap, index)
    for j in range(i - 1, -1, -1):
        u = toks[j]
        if u.line != t.line or u.sent != t.sent:
            break
        if u.kind == SYM:
            gap = _words_between(toks, j, i)
            if gap <= max_gap:
                cand = (0 if u.flags & 16 else 1, gap, j)
                best = cand if best is None or cand < best else best
        elif u.kind == SIDE:
            break
    for j in range(i + 1, len(toks)):
        u = toks[j]
        if u.line != t.line or u.sent != t.sent:
            break
        if u.kind == SYM:
            gap = _words_between(toks, i, j)
            if gap <= max_gap:
                cand = (0 if u.flags & 16 else 1, gap, j)
                best = cand if best is None or cand < best else best
        elif u.kind in (SIDE, NUM, SL, TP):
            break
    if best is not None:
        return best[2], "line"
    return None, "none"


def _line_bounds(toks: list[Tok], i: int) -> tuple[int, int]:
    line = toks[i].line
    lo = i
    while lo > 0 and toks[lo - 1].line == line and toks[lo - 1].kind != NL:
        lo -= 1
    hi = i
    while hi + 1 < len(toks) and toks[hi + 1].line == line and toks[hi + 1].kind != NL:
        hi += 1
    return lo, hi


def _neighbour_symbol(toks: list[Tok], i: int) -> int | None:
    """For a short head line ("Direction: BUY", "BUY NOW"): the instrument on the line above
    (a form's "Symbol: XAUUSD") or below."""
    lo, hi = _line_bounds(toks, i)
    if sum(1 for t in toks[lo:hi + 1] if t.kind not in (PUNCT, END)) > 4:
        return None
    # previous line
    if lo >= 2:
        plo, phi = _line_bounds(toks, lo - 2)
        words = [j for j in range(plo, phi + 1) if toks[j].kind not in (PUNCT, END)]
        syms = [j for j in words if toks[j].kind == SYM]
        if syms and len(words) <= 5 and not any(toks[j].kind == SIDE for j in words):
            return syms[-1]
    if hi + 2 < len(toks):
        nlo, nhi = _line_bounds(toks, hi + 2)
        for j in range(nlo, nhi + 1):
            if toks[j].kind == SYM:
                return j
            if toks[j].kind not in (PUNCT, END):
                break
    return None


def _rejection(toks: list[Tok], i: int) -> str | None:
    """Why the direction at i is not an order, or None."""
    t = toks[i]
    # the word before, within the sentence
    j = i - 1
    while j >= 0 and toks[j].kind == PUNCT and toks[j].sent == t.sent:
        j -= 1
    if j >= 0 and toks[j].sent == t.sent:
        before = toks[j]
        if before.kind == POSS:
            return "refers to an existing trade"
        if (t.flags & LONGSHORT) and before.text in ("a", "as", "so", "how", "too", "very", "for"):
            return "not a direction"
    # negation up to three words before
    seen = 0
    j = i - 1
    while j >= 0 and toks[j].sent == t.sent and seen < 3:
        if toks[j].kind != PUNCT:
            seen += 1
            if toks[j].kind == NEG:
                return "negated"
        j -= 1
    # the word after
    j = i + 1
    while j < len(toks) and toks[j].kind == PUNCT and toks[j].sent == t.sent:
        j += 1
    if j < len(toks) and toks[j].sent == t.sent and toks[j].kind == WORD and toks[j].text in _NOT_ORDER_AFTER:
        return "not an order"
    # hedges and conditions in the head's clause: from the sentence start to the first level
    j = i - 1
    while j >= 0 and toks[j].sent == t.sent:
        j -= 1
    for k in range(j + 1, len(toks)):
        u = toks[k]
        if u.sent != t.sent:
            break
        if k > i and u.kind in (NUM, SL, TP, ENTRY):
            break
        if u.kind == HEDGE:
            if u.text in _CONDITIONAL and k + 1 < len(toks) and toks[k + 1].text in _AUDIENCE:
                continue
            return "hedged or conditional"
    return None


def find_heads(toks: list[Tok], rules: ProviderRules | None, blocked_sents: set[int]) -> HeadScan:
    heads: list[Head] = []
    rejected: list[str] = []
    unbound = 0
    default_symbol = rules.default_symbol if rules is not None else None
    for i, t in enumerate(toks):
        if t.kind != SIDE:
            continue
        weak = bool(t.flags & WEAK)
        if t.sent in blocked_sents:
            rejected.append("part of a management instruction")
            continue
        why = _rejection(toks, i)
        if why is not None:
            rejected.append(why)
            continue
        max_gap = 2 if t.flags & (WEAK | LONGSHORT) else 4
        sym_idx, binding = _bind_symbol(toks, i, max_gap)
        if sym_idx is None and not weak:
            sym_idx = _neighbour_symbol(toks, i)
            binding = "near" if sym_idx is not None else "none"
        symbol = toks[sym_idx].value if sym_idx is not None else None
        if symbol is None and default_symbol is not None and not weak:
            symbol, binding = default_symbol, "default"
        if symbol is None:
            if not weak:
                unbound += 1
            continue
        head = Head(i, t.value, symbol, sym_idx, binding, t.extra, weak)  # type: ignore[arg-type]
        if heads and _same_setup(toks, heads[-1], head):
            continue
        heads.append(head)
    return HeadScan(heads, rejected, unbound)


def _same_setup(toks: list[Tok], prev: Head, head: Head) -> bool:
    """A header line that repeats the setup ("GOLD SELL" then "Gold sell now @...") is one head."""
    if prev.symbol != head.symbol or prev.side != head.side:
        return False
    return not any(t.kind in (NUM, SL, TP) for t in toks[prev.side_idx + 1:head.side_idx])


def segment_starts(toks: list[Tok], heads: list[Head]) -> list[int]:
    starts = []
    prev_side = -1
    for h in heads:
        first = h.side_idx if h.sym_idx is None else min(h.side_idx, h.sym_idx)
        if h.binding == "near":
            first = h.side_idx
        lo, _ = _line_bounds(toks, first)
        if lo <= prev_side:  # another head earlier on the same line: start at this head's words
            lo = first
        starts.append(lo)
        prev_side = h.side_idx
    return starts


def _expand_abbreviated(first: Tok, second: Tok) -> float:
    """The second end of a zone written short: "4030-35" -> 4035, "4785-90" -> 4790,
    "1.0850-60" -> 1.0860. Anything else is taken as written."""
    a, b = float(first.value), float(second.value)  # type: ignore[arg-type]
    a_text, b_text = first.text, second.text
    if "." in a_text and b_text.isdigit() and b > a * 2:
        decimals = len(a_text.split(".")[1])
        if len(b_text) <= decimals:  # the last decimals replaced
            return float(a_text[: len(a_text) - len(b_text)] + b_text)
        return b
    if 1 <= b < a / 2 and len(str(int(b))) < len(str(int(a))):  # the last whole digits replaced
        step = 10.0 ** len(str(int(b)))
        base = a - (a % step)
        return min((base + b, base + step + b, base - step + b), key=lambda c: abs(c - a))
    return b


def _is_index(toks: list[Tok], j: int) -> bool:
    """"TP 1: 1.0900", "Target 2 2060": a small whole number right after a keyword is its index."""
    t = toks[j]
    if "." in t.text or "," in t.text or float(t.value) > 20:  # type: ignore[arg-type]
        return False
    if j + 1 >= len(toks):
        return False
    nxt = toks[j + 1]
    return nxt.text in (":", ")", "-", "=", ".") or nxt.kind == NUM


def read_segment(toks: list[Tok], lo: int, hi: int, head: Head, seg_end: int) -> tuple[Draft, bool]:
    """Read one head's segment; returns the draft and whether the segment reads as a results post."""
    d = Draft(head=head, start=toks[head.side_idx].start, seg_end=seg_end)
    head_line = toks[head.side_idx].line
    head_sent = toks[head.side_idx].sent
    state = F_NONE
    entry_tok: Tok | None = None
    zone_tok: Tok | None = None
    sl_tok: Tok | None = None
    tp_items: list[list] = []  # [value, pips, in_paren, signed, run]
    run = 0
    fresh = False
    paren = 0
    results = False
    pl_marks = 0
    order_type = head.order_type
    prev: Tok | None = None
    for j in range(lo, hi):
        t = toks[j]
        k = t.kind
        if j == head.side_idx:
            state = F_PRE
            prev = t
            continue
        if k == NUM:
            flags = t.flags
            if flags & (SKIP | PCT):
                pass
            elif state in (F_PRE, F_ENTRY):
                if flags & SIGNED and not (entry_tok is not None and zone_tok is None and prev is entry_tok):
                    pl_marks += 1
                    state = F_NONE
                elif flags & PIPSF:
                    if j > head.side_idx and t.line == head_line:
                        pl_marks += 1  # "GOLD BUY 80 pips": a result, not a level
                    state = F_NONE
                elif entry_tok is None:
                    entry_tok = t
                elif zone_tok is None and prev is not None and (
                    (prev.text in _RANGE and j >= 2 and toks[j - 2] is entry_tok)
                    or (flags & SIGNED and prev is entry_tok)
                ):
                    zone_tok = t
                else:
                    d.stray_numbers += 1
                    state = F_NONE
            elif state == F_SL:
                if fresh and _is_index(toks, j):
                    pass
                elif flags & PIPSF:
                    if sl_tok is None and d.sl_pips is None:
                        d.sl_pips = float(t.value)  # type: ignore[arg-type]
                elif sl_tok is None and not (flags & SIGNED):
                    sl_tok = t
            elif state == F_TP:
                if fresh and _is_index(toks, j):
                    pass
                else:
                    pips = bool(flags & PIPSF)
                    if pips:  # "+30 and +60 pips": the earlier signed numbers of this run are pips too
                        for item in tp_items:
                            if item[4] == run and item[3]:
                                item[1] = True
                    tp_items.append([t, pips, paren > 0, bool(flags & SIGNED), run])
            else:
                if t.line > head_line or t.sent != head_sent:
                    d.stray_numbers += 1
                if flags & SIGNED and t.line == head_line:
                    pl_marks += 1
            fresh = False
            prev = t
            continue
        fresh = False
        if k == SL:
            state = F_SL
            fresh = True
        elif k == TP:
            state = F_TP
            run += 1
            fresh = t.extra is None
        elif k == ENTRY:
            state = F_ENTRY if entry_tok is None else F_NONE
        elif k == SOFT:
            if state == F_PRE:
                state = F_ENTRY
        elif k == MARKET:
            if state not in (F_SL, F_TP):
                d.market_cue = True
        elif k == LIMIT:
            if t.line == head_line or t.sent == head_sent:
                order_type = "limit"
        elif k == STOPORD:
            order_type = "stop"
        elif k == OPEN:
            if state == F_SL:
                d.sl_open = True
                state = F_NONE
            elif state == F_TP:
                pass
            elif state == F_PRE and j + 1 < hi and toks[j + 1].kind in (NUM, ENTRY, SOFT):
                pass  # "open at 2050"
        elif k == RESULT:
            if t.line >= head_line:
                results = True
        elif k == NL:
            if (state == F_SL and sl_tok is not None) or (state in (F_PRE, F_ENTRY) and zone_tok is not None):
                state = F_NONE
        elif k == END:
            state = F_NONE
        elif k == PUNCT:
            text = t.text
            if text == "(":
                paren += 1
            elif text == ")":
                paren = max(0, paren - 1)
            elif text == "|" and state in (F_PRE, F_ENTRY):
                state = F_NONE
        elif k in (SYM, SIDE):
            if k == SIDE and state == F_PRE and t.value != head.side:
                state = F_NONE
        elif k == PIPS:
            if state == F_TP and tp_items and tp_items[-1][4] == run:
                for item in tp_items:
                    if item[4] == run and (item[3] or item is tp_items[-1]):
                        item[1] = True
        elif k in (WORD, POSS, HEDGE, NEG):
            text = t.text
            if state == F_PRE:
                if k in (HEDGE, NEG) or text not in _PRE_FILLER:
                    state = F_NONE
            elif state == F_ENTRY:
                if text not in _ENTRY_FILLER:
                    state = F_NONE
            elif state == F_SL:
                if text not in _SL_FILLER:
                    state = F_NONE
            elif state == F_TP and text not in _TP_FILLER:
                state = F_NONE
        prev = t

    # Assemble.
    if entry_tok is not None:
        if zone_tok is not None:
            second = _expand_abbreviated(entry_tok, zone_tok)
            a = float(entry_tok.value)  # type: ignore[arg-type]
            d.zone = (min(a, second), max(a, second)) if a != second else None
            if d.zone is None:
                d.entry = a
        else:
            d.entry = float(entry_tok.value)  # type: ignore[arg-type]
    d.stop_loss = float(sl_tok.value) if sl_tok is not None else None  # type: ignore[arg-type]
    prices = [it for it in tp_items if not it[1] and not it[3]]
    pips = [it for it in tp_items if it[1]]
    if prices:
        pips = [it for it in pips if not it[2]]  # "(+50 pips)" next to a price is an annotation
    if any(it[3] and not it[1] for it in tp_items):
        d.warnings.append("a signed take-profit without 'pips' was ignored")
        d.penalty += 0.1
    d.take_profits = [float(it[0].value) for it in prices]
    d.tp_pips = [float(it[0].value) for it in pips]
    if d.stop_loss is not None:
        d.sl_pips = None
    if order_type in ("limit", "stop"):
        d.order_type, d.order_explicit = order_type, True
    elif d.market_cue:
        d.order_type, d.order_explicit = "market", True
    read = [entry_tok, zone_tok, sl_tok] + [it[0] for it in prices]
    _prefer_plausible(d, [x for x in read if x is not None])
    return d, results or pl_marks > 0


def _prefer_plausible(d: Draft, toks: list[Tok]) -> None:
    """"1,085" is 1085 or 1.085: when the instrument says the first is implausible and the
    second is not, read the second (and say so)."""
    if not any(t.extra is not None for t in toks):
        return
    inst = lookup_instrument(d.head.symbol or "")
    if inst is None:
        return
    for t in toks:
        alt = t.extra
        if alt is None or inst.is_plausible(float(t.value)) or not inst.is_plausible(float(alt)):  # type: ignore[arg-type]
            continue
        old = float(t.value)  # type: ignore[arg-type]
        new = float(alt)  # type: ignore[arg-type]
        if d.entry == old:
            d.entry = new
        if d.zone is not None and old in d.zone:
            d.zone = tuple(sorted(new if z == old else z for z in d.zone))  # type: ignore[assignment]
        if d.stop_loss == old:
            d.stop_loss = new
        d.take_profits = [new if v == old else v for v in d.take_profits]
        d.warnings.append(f"read {t.text} as {new:g} (decimal comma)")
        d.penalty += 0.1


def instrument_of(symbol: str | None) -> Instrument | None:
    return lookup_instrument(symbol) if symbol else None
