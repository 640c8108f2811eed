"""Open setups: find the heads (a direction bound to an instrument, said as an order), then
read each head's segment of the post field by field.

A head is rejected, and says why, when the direction is negated ("do not buy"), hedged or
conditional in its clause ("possible buy", "if price closes above ..., buy"), refers to an
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

from signalos.instruments import name_index
from signalos.signals.parser.lexer import (
    END,
    ENTRY,
    EXACT,
    EXTRA,
    FLAGS,
    HEDGE,
    LIMIT,
    LINE,
    LONGSHORT,
    MARKET,
    MINUS,
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
    SENT,
    SIDE,
    SIGNED,
    SL,
    SOFT,
    STOPORD,
    SYM,
    TEXT,
    TP,
    VAL,
    WEAK,
    WORD,
    K,
    Lexed,
    Token,
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
    "with", "small", "lot", "lots", "mode", "limit", "stop", "currently", "current", "spot", "execution",
    "wait is over", "symbol", "instrument", "asset", "side", "sign", "trading", "buy", "sell",
))
_SL_FILLER = frozenset(("at", "to", "is", "above", "below", "level", "price", "around", "near", "of", "the",
                        "be", "on", "or", "strict", "hard", "fixed", "final", "only", "distance", "sl"))
_TP_FILLER = frozenset((
    "then", "and", "or", "levels", "level", "at", "to", "first", "second", "third", "fourth", "fifth",
    "final", "next", "extended", "is", "are", "the", "price", "zone", "area", "around", "near", "of",
    "1st", "2nd", "3rd", "4th", "5th", "6th", "tp",
))
_ENTRY_FILLER = frozenset(("at", "or", "and", "price", "zone", "area", "around", "near", "between", "from",
                           "range", "band", "region", "level", "is", "the", "of", "now", "market", "better",
                           "entry"))
_RANGE = frozenset(("-", "/", "~", "to", "and"))
# A direction followed by these is a noun phrase, not an order ("buy signals daily", "sell orders above").
_NOT_ORDER_AFTER = frozenset((
    "signals", "orders", "positions", "trades", "ideas", "setups", "opportunities", "volume", "volumes",
    "interest", "liquidity", "candle", "candles", "wick", "wicks", "program", "button", "programs",
    "strategy", "strategies", "bot", "bots", "course", "group", "channel", "room", "members",
    "dip", "dips", "rally", "rallies", "pullback", "pullbacks", "bounce", "bounces", "breakout", "breakouts",
    "retest", "retests", "news", "rumour", "rumor", "rumours", "rumors",
))
_AUDIENCE = frozenset(("you", "u", "anyone", "someone", "those", "everyone", "everybody", "ya"))
_CONDITIONAL = frozenset(("if", "when", "whenever", "once", "unless", "until"))
_NOT_DIRECTION_BEFORE = frozenset(("a", "as", "so", "how", "too", "very", "for"))
_MANAGE_VERBS = frozenset(("close", "closing", "closed", "exit", "exiting", "cancel", "cancelled", "canceled",
                           "delete", "remove", "removed", "deleted"))
_INSTRUCTION_VERBS = frozenset((
    "move", "moving", "set", "adjust", "update", "change", "modify", "trail", "tighten", "raise", "lower",
    "close", "closing", "cancel", "delete", "take", "secure", "book", "bank", "cut", "exit", "extend",
    "shift", "put", "bring", "push", "new",
))
_NEG_BRIDGE = frozenset(("to", "yet", "just", "even", "ever", "a", "need", "any", "the", "be", "rush",
                         "into"))
_PRAISE = frozenset(("great", "nice", "perfect", "amazing", "beautiful", "excellent", "another", "good",
                     "wonderful", "fantastic", "incredible", "solid", "massive", "huge", "clean", "sweet",
                     "awesome", "brilliant", "lovely", "successful", "winning", "profitable"))
_LEVEL_KINDS = frozenset((NUM, SL, TP, ENTRY))
_CLAUSE = 80  # tokens looked at around a direction for hedges and question marks
MAX_DIRECTIONS = 40
# Later in a post without levels, these make it a heads-up ("GOLD SELL SIGNAL / wait for my entry").
_HEADS_UP = frozenset(("wait", "waiting", "soon", "coming", "upcoming", "prepare", "preparing", "ready",
                       "standby", "later", "tomorrow", "confirmation", "details"))


@dataclass(slots=True)
class Head:
    side_idx: int
    side: str
    symbol: str
    sym_idx: int | None
    binding: str  # "line", "near", "default"
    order_type: str | None
    weak: bool


@dataclass(slots=True)
class Draft:
    """One open setup as read, before sanity checks and confidence."""

    head: Head
    first_sent: int
    last_sent: int
    entry: float | None = None
    zone: tuple[float, float] | None = None
    stop_loss: float | None = None
    sl_pips: float | None = None
    sl_open: bool = False
    take_profits: list[float] = field(default_factory=list)
    tp_pips: list[float] = field(default_factory=list)
    order_type: str = "market"
    order_explicit: bool = False
    stray_numbers: int = 0
    warnings: list[str] = field(default_factory=list)
    penalty: float = 0.0
    hedged: bool = False

    @property
    def has_levels(self) -> bool:
        return (self.entry is not None or self.zone is not None or self.stop_loss is not None
                or self.sl_pips is not None or bool(self.take_profits) or bool(self.tp_pips))


@dataclass(slots=True)
class HeadScan:
    heads: list[Head]
    rejected: list[str]  # why candidate heads were not orders
    unbound: int  # strong directions with no instrument to bind to
    directions: int  # direction words seen
    first_symbol: str | None  # the first instrument the post names


def _line_of(lexed: Lexed, i: int) -> tuple[int, int]:
    """[first, last] token index of the line of token i (without its NL)."""
    starts = lexed.line_starts
    line = lexed.toks[i][LINE]
    lo = starts[line]
    hi = (starts[line + 1] - 2) if line + 1 < len(starts) else len(lexed.toks) - 1
    return lo, hi


def _bind_symbol(toks: list[Token], i: int, max_gap: int) -> int | None:
    """Index of the instrument on the direction's line and in its sentence, at most `max_gap`
    words away; an exact ticker ("ETHUSDT") beats an alias ("Ethereum"), then the nearer."""
    line, sent = toks[i][LINE], toks[i][SENT]
    best: tuple[int, int, int] | None = None
    gap = 0
    for j in range(i - 1, -1, -1):
        u = toks[j]
        if u[LINE] != line or u[SENT] != sent or u[K] == SIDE or gap > max_gap:
            break
        if u[K] == SYM:
            cand = (0 if u[FLAGS] & EXACT else 1, gap, j)
            best = cand if best is None or cand < best else best
        if u[K] != PUNCT:
            gap += 1
    gap = 0
    for j in range(i + 1, len(toks)):
        u = toks[j]
        if u[LINE] != line or u[SENT] != sent or u[K] in (SIDE, NUM, SL, TP) or gap > max_gap:
            break
        if u[K] == SYM:
            cand = (0 if u[FLAGS] & EXACT else 1, gap, j)
            best = cand if best is None or cand < best else best
        if u[K] != PUNCT:
            gap += 1
    return best[2] if best is not None else None


def _neighbour_symbol(lexed: Lexed, i: int) -> int | None:
    """For a short head line ("Direction: BUY", "BUY NOW"): the instrument on the line above
    (a form's "Symbol: XAUUSD") or right below."""
    toks = lexed.toks
    lo, hi = _line_of(lexed, i)
    if sum(1 for t in toks[lo:hi + 1] if t[K] not in (PUNCT, END)) > 4:
        return None
    above = lo
    for _ in range(3):  # a form's fields above: "Symbol: XAUUSD / Entry: 2050 / Direction: BUY"
        if above < 2:
            break
        plo, phi = _line_of(lexed, above - 2)
        words = [j for j in range(plo, phi + 1) if toks[j][K] not in (PUNCT, END)]
        if len(words) > 5 or any(toks[j][K] == SIDE for j in words):
            break
        syms = [j for j in words if toks[j][K] == SYM]
        if syms:
            return syms[-1]
        above = plo
    if hi + 2 < len(toks):
        nlo, nhi = _line_of(lexed, hi + 2)
        for j in range(nlo, nhi + 1):
            if toks[j][K] == SYM:
                return j
            if toks[j][K] not in (PUNCT, END):
                break
    return None


def _rejection(toks: list[Token], i: int) -> str | None:
    """Why the direction at i is not an order, or None."""
    t = toks[i]
    sent = t[SENT]
    # the word before, within the sentence
    j = i - 1
    while j >= 0 and toks[j][K] == PUNCT and toks[j][SENT] == sent:
        j -= 1
    if j >= 0 and toks[j][SENT] == sent:
        before = toks[j]
        if before[K] == SYM and j > 0 and toks[j - 1][SENT] == sent:
            before = toks[j - 1]  # "my gold long": look past the instrument
        if before[K] == POSS:
            return "refers to an existing trade"
        if before[TEXT] in _MANAGE_VERBS:
            return "part of a management instruction"  # "close EURUSD sell", "cancel the buy limit"
        if before[TEXT] in _PRAISE:
            return "commentary on a trade"  # "great sell on gold today"
        if (t[FLAGS] & LONGSHORT) and before[TEXT] in _NOT_DIRECTION_BEFORE:
            return "not a direction"
    # negation governing the direction: "do not buy", "don't sell", "not yet buy", "no need to sell"
    j = i - 1
    while j >= 0 and toks[j][SENT] == sent and (toks[j][K] == PUNCT or toks[j][TEXT] in _NEG_BRIDGE):
        j -= 1
    if j >= 0 and toks[j][SENT] == sent and toks[j][K] == NEG:
        return "negated"
    # the word after
    j = i + 1
    while j < len(toks) and toks[j][K] == PUNCT and toks[j][SENT] == sent:
        j += 1
    if j < len(toks) and toks[j][SENT] == sent and toks[j][K] == WORD and toks[j][TEXT] in _NOT_ORDER_AFTER:
        return "not an order"
    # hedges and conditions in the head's clause: from the sentence start to the first level
    # (a clause is looked at up to _CLAUSE tokens each way: longer "sentences" are prose)
    j = i - 1
    while j >= 0 and toks[j][SENT] == sent and i - j < _CLAUSE:
        j -= 1
    for k in range(j + 1, min(len(toks), i + _CLAUSE)):
        u = toks[k]
        if u[SENT] != sent or (k > i and u[K] in _LEVEL_KINDS):
            break
        if u[K] == HEDGE:
            if u[TEXT] in _CONDITIONAL and k + 1 < len(toks) and toks[k + 1][TEXT] in _AUDIENCE:
                continue
            return "hedged or conditional"
    # a question ("Buy EURUSD?", "Should we sell gold?") asks, it does not order
    for k in range(i + 1, min(len(toks), i + _CLAUSE)):
        u = toks[k]
        if u[SENT] != sent:
            break
        if u[TEXT] == "?":
            return "a question"
    return None


def find_heads(lexed: Lexed, rules: ProviderRules | None, blocked_sents: set[int]) -> HeadScan:
    toks = lexed.toks
    heads: list[Head] = []
    rejected: list[str] = []
    unbound = 0
    default_symbol = rules.default_symbol if rules is not None else None
    directions = 0
    first_symbol = None
    merged_to = -1  # side index of the last head another one was merged into
    for i, t in enumerate(toks):
        if t[K] != SIDE:
            if first_symbol is None and t[K] == SYM:
                first_symbol = t[VAL]
            continue
        directions += 1
        if directions > MAX_DIRECTIONS:  # a wall of directions is a recap or spam; bounded work either way
            rejected.append(f"more than {MAX_DIRECTIONS} directions")
            break
        weak = bool(t[FLAGS] & WEAK)
        if t[SENT] in blocked_sents and not _levels_follow(toks, i):
            rejected.append("part of a management instruction")
            continue
        why = _rejection(toks, i)
        if why is not None:
            rejected.append(why)
            continue
        sym_idx = _bind_symbol(toks, i, 2 if t[FLAGS] & (WEAK | LONGSHORT) else 4)
        binding = "line"
        if sym_idx is None and not weak:
            sym_idx = _neighbour_symbol(lexed, i)
            binding = "near"
        if sym_idx is not None:
            symbol = toks[sym_idx][VAL]
        elif default_symbol is not None and not weak:
            symbol, binding = default_symbol, "default"
        else:
            unbound += 0 if weak else 1
            continue
        head = Head(i, t[VAL], symbol, sym_idx, binding, t[EXTRA], weak)
        if heads and _same_setup(toks, heads[-1], head, merged_to):
            merged_to = i
            continue
        heads.append(head)
        merged_to = i
    if first_symbol is None:
        first_symbol = next((t[VAL] for t in toks[i:] if t[K] == SYM), None) if toks else None
    return HeadScan(heads, rejected, unbound, directions, first_symbol)


def _levels_follow(toks: list[Token], i: int) -> bool:
    """Whether the direction at i is followed by prices or SL/TP in its sentence: then a
    management phrase in that sentence is part of the setup's plan, not an instruction."""
    sent = toks[i][SENT]
    for j in range(i + 1, min(len(toks), i + _CLAUSE)):
        t = toks[j]
        if t[SENT] != sent or t[TEXT] in _INSTRUCTION_VERBS:
            return False  # "XAUUSD BUY - move SL to 2055": the levels belong to the instruction
        if t[K] in (SL, TP) or (t[K] == NUM and not t[FLAGS]):
            return True
    return False


def _same_setup(toks: list[Token], prev: Head, head: Head, since: int) -> bool:
    """A header line that repeats the setup ("GOLD SELL" then "Gold sell now @...") is one head:
    same instrument and side with no level in between (checked from `since`, the last repeat)."""
    if prev.symbol != head.symbol or prev.side != head.side:
        return False
    return not any(t[K] in (NUM, SL, TP) for t in toks[since + 1:head.side_idx])


def segment_starts(lexed: Lexed, heads: list[Head]) -> list[int]:
    """Token index where each head's segment begins: its line, or its own words when another
    head shares the line ("GOLD SELL +120, GBPJPY BUY -35")."""
    starts = []
    prev_side = -1
    for h in heads:
        first = h.side_idx if h.sym_idx is None or h.binding != "line" else min(h.side_idx, h.sym_idx)
        lo, _ = _line_of(lexed, first)
        if lo <= prev_side:
            lo = first
        elif not starts:
            lo = _level_lines_above(lexed, lo)
        starts.append(lo)
        prev_side = h.side_idx
    return starts


def _level_lines_above(lexed: Lexed, lo: int) -> int:
    """A form may give levels before the direction ("Entry: 1.0850 / EURUSD BUY / SL ..."): the
    first setup's segment takes in the lines right above it that are only a field and a price."""
    toks = lexed.toks
    while lo >= 2:
        plo, phi = _line_of(lexed, lo - 2)
        kinds = [toks[j][K] for j in range(plo, phi + 1) if toks[j][K] not in (PUNCT, END)]
        if not (2 <= len(kinds) <= 3 and kinds[0] in (ENTRY, SL, TP) and kinds[-1] == NUM
                and all(k in (ENTRY, SL, TP, NUM, SOFT) for k in kinds)):
            break
        lo = plo
    return lo


def _expand_abbreviated(first: Token, second: Token) -> float:
    """The second end of a zone written short: "4030-35" -> 4035, "4785-90" -> 4790,
    "1.0850-60" -> 1.0860. Anything else is taken as written."""
    a, b = first[VAL], second[VAL]
    a_text, b_text = first[TEXT], second[TEXT]
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


def is_index(toks: list[Token], j: int) -> bool:
    """"TP 1: 1.0900", "Target 2 2060": a small whole number right after a keyword is its index."""
    t = toks[j]
    if t[VAL] > 20 or "." in t[TEXT] or "," in t[TEXT] or j + 1 >= len(toks):
        return False
    nxt = toks[j + 1]
    return nxt[TEXT] in (":", ")", "-", "=", ".") or nxt[K] == NUM


def read_segment(lexed: Lexed, lo: int, hi: int, head: Head) -> tuple[Draft, bool]:
    """Read one head's segment; returns the draft and whether the segment reads as a results post."""
    toks = lexed.toks
    side_tok = toks[head.side_idx]
    head_line, head_sent = side_tok[LINE], side_tok[SENT]
    d = Draft(head=head, first_sent=head_sent, last_sent=toks[hi - 1][SENT] if hi > lo else head_sent)
    state = F_NONE
    entry_i = zone_i = sl_i = -1
    tp_items: list[list] = []  # [token index, pips, in parentheses, signed, run]
    run = 0
    fresh = False
    paren = 0
    results = False
    pl_marks = 0
    market = False
    hedged_later = False
    second_entry = False
    order_type = head.order_type
    prev_i = -1
    for j in range(lo, hi):
        t = toks[j]
        k = t[K]
        if j == head.side_idx:
            state = F_PRE
            prev_i = j
            continue
        if k == NUM:
            flags = t[FLAGS]
            if flags & PCT:
                pass
            elif state in (F_PRE, F_ENTRY):
                if fresh and is_index(toks, j):
                    pass  # "Entry 1: 4459"
                elif entry_i >= 0 and zone_i < 0 and (
                    (flags & MINUS and prev_i == entry_i)
                    or (prev_i >= 0 and toks[prev_i][TEXT] in _RANGE and prev_i - 1 == entry_i)
                    or second_entry
                ):
                    zone_i = j  # "1950-1948", "4030 -35", "18120 and 18150", "Entry 2: 4455"
                elif flags & SIGNED:
                    pl_marks += 1  # "GOLD SELL +120": a result, not a level
                    state = F_NONE
                elif flags & PIPSF:
                    if t[LINE] == head_line:
                        pl_marks += 1  # "GOLD BUY 80 pips"
                    state = F_NONE
                elif entry_i < 0:
                    entry_i = j
                else:
                    d.stray_numbers += 1
                    state = F_NONE
            elif state == F_SL:
                if fresh and is_index(toks, j):
                    pass
                elif flags & PIPSF:
                    if sl_i < 0 and d.sl_pips is None:
                        d.sl_pips = t[VAL]
                elif sl_i < 0 and not flags & SIGNED:
                    sl_i = j
            elif state == F_TP:
                if not (fresh and is_index(toks, j)):
                    pips = bool(flags & PIPSF)
                    if pips:  # "+30 and +60 pips": the earlier signed numbers of this run are pips too
                        for item in tp_items:
                            if item[4] == run and item[3]:
                                item[1] = True
                    tp_items.append([j, pips, paren > 0, bool(flags & SIGNED), run])
            else:
                if t[LINE] > head_line or t[SENT] != head_sent:
                    d.stray_numbers += 1
                if flags & SIGNED and (t[LINE] == head_line or flags & PIPSF):
                    pl_marks += 1  # "+120" next to the setup, "... +40 pips": a result
            fresh = False
            prev_i = j
            continue
        fresh = False
        if k == SL:
            state = F_SL
            fresh = True
        elif k == TP:
            state = F_TP
            run += 1
            fresh = t[EXTRA] is None
        elif k == ENTRY:
            if t[TEXT] != "@" or state not in (F_SL, F_TP):  # "SL @ 2338" keeps its field
                if entry_i < 0:
                    state, fresh = F_ENTRY, t[TEXT] != "@"
                elif zone_i < 0 and t[TEXT] != "@":  # "Entry 1: 4459 / Entry 2: 4455": layers
                    state, fresh, second_entry = F_ENTRY, True, True
                else:
                    state = F_NONE
        elif k == SOFT:
            if state == F_PRE:
                state = F_ENTRY
        elif k == MARKET:
            if state != F_SL and state != F_TP:
                market = True
        elif k == LIMIT:
            if t[LINE] == head_line or t[SENT] == head_sent:
                order_type = "limit"
        elif k == STOPORD:
            order_type = "stop"
        elif k == OPEN:
            if state == F_SL:
                d.sl_open = True
                state = F_NONE
        elif k == RESULT:
            # a result said in the setup's sentences ("BUY GOLD - TP1 hit"), not one addressed to
            # the reader ("if you missed the entry") or said before it ("Missed it? Buy again ...")
            if t[SENT] >= head_sent and not (prev_i >= 0 and toks[prev_i][TEXT] in _AUDIENCE):
                results = True
        elif k == NL:
            if (state == F_SL and sl_i >= 0) or (state in (F_PRE, F_ENTRY) and zone_i >= 0):
                state = F_NONE
        elif k == END:
            state = F_NONE
        elif k == PUNCT:
            text = t[TEXT]
            if text == "(":
                paren += 1
            elif text == ")":
                paren = max(0, paren - 1)
            elif text == "|" and state in (F_PRE, F_ENTRY) and entry_i >= 0:
                state = F_NONE  # "XAUUSD | BUY | 2345 | SL ...": a separator before the entry is fine
        elif k == SIDE:
            if state == F_PRE and t[VAL] != head.side:
                state = F_NONE
        elif k == PIPS:
            if state == F_TP and tp_items and tp_items[-1][4] == run:
                for item in tp_items:
                    if item[4] == run and (item[3] or item is tp_items[-1]):
                        item[1] = True
        elif k != SYM:  # WORD, POSS, HEDGE, NEG
            text = t[TEXT]
            if text in _HEADS_UP and j > head.side_idx:
                hedged_later = True
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
        prev_i = j

    # Assemble.
    if entry_i < 0 and head.sym_idx is not None and head.binding == "line" and head.sym_idx < head.side_idx:
        entry_i = _price_between(toks, head.sym_idx, head.side_idx)  # "XAUUSD 2050 BUY"
    if entry_i >= 0:
        a = toks[entry_i][VAL]
        if zone_i >= 0:
            b = _expand_abbreviated(toks[entry_i], toks[zone_i])
            if a != b:
                d.zone = (a, b) if a < b else (b, a)
            else:
                d.entry = a
        else:
            d.entry = a
    if sl_i >= 0:
        d.stop_loss = toks[sl_i][VAL]
        d.sl_pips = None  # a distance next to a price is an annotation
    prices = [it for it in tp_items if not it[1] and not it[3]]
    pips = [it for it in tp_items if it[1]]
    if prices:
        pips = [it for it in pips if not it[2]]  # "(+50 pips)" next to a price is an annotation
    if any(it[3] and not it[1] for it in tp_items):
        d.warnings.append("a signed take-profit without 'pips' was ignored")
        d.penalty += 0.1
    d.take_profits = [toks[it[0]][VAL] for it in prices]
    d.tp_pips = [toks[it[0]][VAL] for it in pips]
    if order_type in ("limit", "stop"):
        d.order_type, d.order_explicit = order_type, True
    elif market:
        d.order_explicit = True
    read = [i for i in (entry_i, zone_i, sl_i) if i >= 0] + [it[0] for it in prices]
    if any(toks[i][EXTRA] is not None for i in read):
        _prefer_plausible(d, [toks[i] for i in read])
    if hedged_later and d.stop_loss is None and d.sl_pips is None and not d.take_profits and not d.tp_pips:
        d.hedged = True  # "GOLD SELL SIGNAL / wait for my entry": a heads-up, not an order yet
    return d, results or pl_marks > 0


def _price_between(toks: list[Token], sym_idx: int, side_idx: int) -> int:
    """The one plain number between the instrument and the direction, or -1."""
    found = -1
    for j in range(sym_idx + 1, side_idx):
        t = toks[j]
        if t[K] == NUM:
            if found >= 0 or t[FLAGS]:
                return -1
            found = j
        elif t[K] not in (PUNCT, ENTRY, SOFT, MARKET):
            return -1
    return found


def _prefer_plausible(d: Draft, read: list[Token]) -> None:
    """"1,085" is 1085 or 1.085: when the instrument says the first is implausible and the
    second is not, read the second (and say so)."""
    inst = name_index().get(d.head.symbol)
    if inst is None:
        return
    for t in read:
        old, alt = t[VAL], t[EXTRA]
        if alt is None or inst.is_plausible(old) or not inst.is_plausible(alt):
            continue
        if d.entry == old:
            d.entry = alt
        if d.zone is not None and old in d.zone:
            lo, hi = (alt if z == old else z for z in d.zone)
            d.zone = (lo, hi) if lo <= hi else (hi, lo)
        if d.stop_loss == old:
            d.stop_loss = alt
        d.take_profits = [alt if v == old else v for v in d.take_profits]
        d.warnings.append(f"read {t[TEXT]} as {alt:g} (decimal comma)")
        d.penalty += 0.1
