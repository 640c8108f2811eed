"""Management instructions: breakeven, move SL, modify TP, partial close, close all, cancel.

Each pattern is an instruction shape (a verb and its object), never a bare keyword, so "SL was
hit at 4720", "trades that hit SL" or "closes above 4700" are not instructions. A match in a
sentence that is conditional on the market ("if 15M closes above 4700, we will close") or
negated ("don't move your SL") is dropped; "if you have lower entries, keep them risk free"
addresses the reader and stays.

Patterns only run when one of their trigger words is in the post (the lexer collects the
words), so a plain setup costs a few set lookups here, not sixteen regex scans.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from signalos.signals.parser.lexer import number_parts, sentence_bounds

# A whole number, never the "1" of "tp1", nor a distance ("+20 pips", "50%"): those are no price.
_NUM = r"(?<![\w.])(\d+(?:[.,]\d+)*)(?![\d.,]| *(?:pips?|points|pts|p\b|%))"
_SLK = r"(?:sl|s/l|stop(?:[ -]?loss(?:es)?)?|stops|stoploss)"
_TPK = (r"(?:(?:tp|target|tgt)\d{1,2}|(?:tps?|t/p|take[ -]?profits?|targets?|tgt)"
        r"(?: *\d{1,2}(?![\d.,]))?)")
_BE = r"(?:be|b/e|break[ -]?even|breakeven|entry|entries|cost|open(?:ing)? price)"
_RISK_FREE = r"(?:risk[ -]?free|riskfree|zero risk|no risk)"
_GAP = r"[^.!?;,\n]{0,30}?"  # up to a few words in the same clause
_GAP_NO_DIGIT = r"[^.!?;\n\d]{0,25}?"
_FROM_TO = r"(?:\d+(?:[.,]\d+)* +to +)?"  # "move SL from 2040 to 2050": the price after "to"

_MOVE = ("move", "moving", "moved", "adjust", "adjusting", "adjusted", "update", "updating", "updated",
         "change", "changing", "changed", "set", "setting", "shift", "shifting", "trail", "trailing",
         "tighten", "tightening", "raise", "raising", "lower", "lowering", "bring", "bringing", "put",
         "putting", "make", "making", "modify", "modifying", "place", "drag", "push", "pull")
_TP_MOVE = ("move", "moving", "moved", "adjust", "adjusting", "update", "updating", "change", "changing",
            "set", "shift", "extend", "extending", "raise", "lower", "modify", "push", "new", "updated",
            "revised", "replace")
_BE_MOVE = ("move", "moving", "moved", "set", "setting", "put", "putting", "place", "shift", "adjust",
            "bring", "take", "go", "going", "trail")
_RF_VERBS = ("make", "making", "keep", "keeping", "set", "setting", "go", "going", "turn", "is", "are",
             "now", "trade", "trades", "position", "positions")
_PARTIAL = ("close", "closing", "take", "taking", "secure", "securing", "book", "booking", "bank",
            "banking", "lock", "locking", "cut", "cutting", "scale", "scaling", "reduce", "reducing", "exit",
            "exiting", "trim", "trimming", "collect", "collecting")
_CLOSE = ("close", "closing", "exit", "exiting")
_SL_WORDS = ("sl", "s", "stop", "stops", "stoploss")
_TP_WORDS = ("tp", "tps", "t", "take", "target", "targets", "tgt",
             *(f"tp{i}" for i in range(1, 11)), *(f"target{i}" for i in range(1, 11)))
_FRACTION = (r"(half|partials?|partially|quarter|third|two thirds|three quarters|\d{1,3} *%|[1-3]/[234]|"
             r"first(?: (?:entries|entry|positions?|lots?|layers?|trades?|orders?))?|"
             r"some (?:profits?|gains?|lots?|positions?|off)|part of|portion)")


def _alt(words: tuple[str, ...]) -> str:
    return "(?:" + "|".join(words) + ")"


_AUDIENCE = r"(?! (?:you|u|anyone|someone|those|everyone|everybody|ya)\b)"  # "if you ...": not a condition
_TO_BE = r"(?:(?:to|at|on) (?:be|entry|entry price|open price|cost)|break[ -]?even|breakeven|b/e)"
_BE_ALONE = r"(?:break[ -]?even|breakeven|be|b/e|(?:sl|stop) (?:to )?be|risk[ -]?free|riskfree)"
_BE_TAIL_WORD = r"(?:now|all|everyone|guys|please|everything|on|for)\b"
_BE_SYMBOL = rf"(?: #?(?!{_BE_TAIL_WORD})(?P<sym>[a-z][a-z0-9/]*))?"  # "Breakeven EURUSD"
_BE_TAIL = (r"(?: (?:now|all|everyone|guys|please|everything|trade|trades|position|positions))*"
            r"(?: (?:on|for) (?:all |the |my |your |our )?[a-z0-9/]+(?: (?:trades?|positions?|orders?))?)?")
_SL_SAID = r"(?:moved|now|updated|changed|adjusted|raised|lowered|trailed|tightened)"
_TP_SAID = r"(?:moved|changed|updated|extended|adjusted|now)"
_ALL_OF = (r"(?:all|everything|every|the rest|rest|remaining|all remaining|the remaining|it|them|now|"
           r"manually|market|at market|at cmp)\b")
_TRADES = r"(?:(?:all|both) )?(?:(?:my|your|our|the|this|these|those|all) )*(?:trades?|positions?|orders?)\b"
_OWNER = r"(?:(?:my|your|our|the|all|this|that) )*"
_OUT_OF = (r"out(?: of (?:this |the |that |my |our |all |these |those )?(?P<obj>[a-z0-9/]+)"
           r"| now| here| at| with|(?= *(?:[.!,\n]|$)))")
_WE = r"(?:i'?m|i am|we'?re|we are|everybody|everyone|all|get|getting)"
_CANCEL = r"(?:cancel|cancelled|canceled|cancelling|void)\b(?! (?:sl|tp|stop|target|the sl|the tp|your sl))"
_PENDING = (r"(?:orders?|limits?|pending|it|them|setups?|signals?|entry|entries|trades?|buylimit|selllimit|"
            r"buystop|sellstop)\b")
_DELETE = (r"(?:delete|deleted|remove|removed|withdraw)(?: (?:the|this|that|all|your|my|our|any|every|these|"
           rf"those|buy|sell|[a-z]{{6}}))* {_PENDING}")
_HALF_OFF = (r"(?:^|[ (])(\d{1,3} *%|half|a quarter|a third) "
             r"(?:of (?:the |your |my )?(?:position|trade|lots?|size) )?"
             r"(?:off (?:the table|here|now)|out (?:now|here))\b")
_NOT_VALID = r"no longer valid\b|not valid any ?more\b"
_BE_WORDS = ("be", "b", "break", "breakeven")

# (action, regex, confidence tier 0 explicit / 1 inferred, trigger word groups: each must meet the post)
_PATTERNS: tuple[tuple[str, str, int, tuple[tuple[str, ...], ...]], ...] = (
    ("breakeven", rf"\b{_SLK} *(?:to|at|@|on|=|:|-|>) *{_BE}\b", 0,
     (_SL_WORDS, (*_BE_WORDS, "entry", "entries", "cost", "open", "opening"))),
    ("breakeven", rf"\b{_alt(_BE_MOVE)}\b(?: [a-z']+){{0,3}}? {_TO_BE}\b", 0,
     (_BE_MOVE, (*_BE_WORDS, "entry", "cost", "open"))),
    ("breakeven", rf"\b{_alt(_RF_VERBS)}\b(?: [a-z']+){{0,3}}? {_RISK_FREE}\b", 1,
     (("risk", "riskfree", "zero", "no"), _RF_VERBS)),
    ("breakeven", rf"(?m)^[^\w\n]*{_BE_ALONE}{_BE_SYMBOL}{_BE_TAIL}[^\w\n]*$", 0,
     ((*_BE_WORDS, "risk", "riskfree"),)),
    ("move_sl", rf"\b{_alt(_MOVE)}\b{_GAP}\b{_SLK}\b{_GAP_NO_DIGIT}{_FROM_TO}{_NUM}", 0, (_MOVE, _SL_WORDS)),
    ("move_sl", rf"\b(?:new|updated|revised) {_SLK}\b[^.!?;\n\d]{{0,10}}?{_NUM}", 0,
     (("new", "updated", "revised"), _SL_WORDS)),
    ("move_sl", rf"\b{_SLK} {_SL_SAID}\b[^.!?;\n\d]{{0,10}}?{_NUM}", 0,
     (_SL_WORDS, ("moved", "now", "updated", "changed", "adjusted", "raised", "lowered", "trailed",
                  "tightened"))),
    ("modify_tp", rf"\b{_alt(_TP_MOVE)}\b{_GAP}\b{_TPK}\b{_GAP_NO_DIGIT}{_FROM_TO}{_NUM}", 0,
     (_TP_MOVE, _TP_WORDS)),
    ("modify_tp", rf"\b(?:tp|target)\d{{0,2}} {_TP_SAID}\b[^.!?;\n\d]{{0,10}}?{_NUM}", 0,
     (_TP_WORDS, ("moved", "changed", "updated", "extended", "adjusted", "now"))),
    ("close_partial", rf"\b{_alt(_PARTIAL)}\b(?: (?:out|in|off))?(?: (?:your|my|our|the|of|a|an|one))* "
                      rf"{_FRACTION}", 0, (_PARTIAL,)),
    ("close_partial", _HALF_OFF, 0, (("off", "out"),)),
    ("close_partial", r"\bpartial (?:close|closing|exit|tp|take profit|profits?)\b", 0, (("partial",),)),
    ("close_all", rf"\b{_alt(_CLOSE)} (?:{_ALL_OF}|{_TRADES})", 0, (_CLOSE,)),
    ("close_all", r"\btake (?:the |your |all |some )?profits? now\b", 0, (("take",), ("now",))),
    ("close_all", rf"\b{_WE} {_OUT_OF}", 1, (("out",),)),
    ("close_all", rf"\b{_alt(_CLOSE)} {_OWNER}#?(?P<sym>[a-z][a-z0-9]*(?:[/ ][a-z0-9]+)?)", 0, (_CLOSE,)),
    ("cancel_pending", rf"\b(?:{_CANCEL}|{_DELETE}|{_NOT_VALID})", 0,
     (("cancel", "cancelled", "canceled", "cancelling", "delete", "deleted", "remove", "removed", "withdraw",
       "void", "longer", "anymore", "any"),)),
)


def _compile(src: str) -> tuple[re.Pattern[str], bool]:
    """A pattern that starts at a word boundary is compiled without its leading `\\b`, which lets
    the regex engine jump to the first letters it can start with instead of trying every
    position (5x faster here); the boundary is then checked on each match. -> (regex, check)."""
    if src.startswith(r"\b"):
        return re.compile(src[2:]), True
    return re.compile(src), False


_COMPILED = tuple(
    (action, *_compile(src), tier, tuple(frozenset(group) for group in triggers))
    for action, src, tier, triggers in _PATTERNS
)
# First trigger group word -> the patterns it can start (the second group, if any, is checked after).
_BY_TRIGGER: dict[str, list[int]] = {}
for _number, (*_, _triggers) in enumerate(_COMPILED):
    assert len(_triggers) <= 2
    for _word in _triggers[0]:
        _BY_TRIGGER.setdefault(_word, []).append(_number)
_TRIGGERS = frozenset(_BY_TRIGGER)
_CONDITIONAL = re.compile(rf"\b(?:if|when|whenever|once|unless|until)\b{_AUDIENCE}")
_LATER_CONDITION = re.compile(rf"\b(?:if|when|whenever|once|unless|until|after|as soon as)\b{_AUDIENCE}")
_TRADE_WORDS = frozenset(("trade", "trades", "position", "positions", "it", "them", "buy", "buys", "sell",
                          "sells", "long", "longs", "short", "shorts", "market", "one", "pair", "setup",
                          "signal"))
_NEGATED = re.compile(r"\b(?:not|never|don'?t|no need to|nothing|avoid)(?: \w+)? ?$")
_HEDGED = re.compile(r"\b(?:might|may|could|consider|considering|thinking|maybe|possibly|perhaps|planning)\b")
_FRACTIONS = {"half": 0.5, "quarter": 0.25, "third": 1 / 3, "two thirds": 2 / 3, "three quarters": 0.75,
              "1/2": 0.5, "1/3": 1 / 3, "1/4": 0.25, "2/3": 2 / 3, "3/4": 0.75, "2/4": 0.5}
_PERCENT = re.compile(r"(\d{1,3}) *%")
MAX_MATCHES = 100
_NEAR = 200  # characters of the sentence looked at around a match for conditions and negations


@dataclass(slots=True)
class Instruction:
    action: str
    start: int
    end: int
    sentence: int
    price: float | None = None
    fraction: float | None = None
    tier: int = 0


def _fraction(word: str, sentence_text: str) -> float | None:
    word = " ".join(word.split())
    if word.endswith("%"):
        pct = int(word[:-1].strip())
        return pct / 100 if 0 < pct < 100 else None
    if word in _FRACTIONS:
        return _FRACTIONS[word]
    m = _PERCENT.search(sentence_text)  # "take partials (30%)": the percentage stated nearby
    if m is not None and 0 < int(m.group(1)) < 100:
        return int(m.group(1)) / 100
    return None


def find_instructions(s: str, words: set[str], is_symbol) -> list[Instruction]:
    """Management instructions in normalised text `s` (whose words are `words`), in order, one
    per action and sentence. `is_symbol(name)` says whether the words after "close" name an
    instrument ("close EURUSD")."""
    present = words & _TRIGGERS
    if not present:
        return []
    candidates: set[int] = set()
    for word in present:
        candidates.update(_BY_TRIGGER[word])
    found: list[Instruction] = []
    bounds: list[int] | None = None
    for number in sorted(candidates):
        action, regex, at_boundary, tier, triggers = _COMPILED[number]
        if len(triggers) > 1 and triggers[1].isdisjoint(words):
            continue
        pos = 0
        while True:
            m = regex.search(s, pos)
            if m is None:
                break
            start = m.start()
            pos = max(m.end(), start + 1)
            if at_boundary and start and (s[start - 1].isalnum() or s[start - 1] in "'_"):
                pos = start + 1  # inside a word ("reset" for "set"): look again from the next letter
                continue
            named = m.groupdict() if regex.groupindex else None
            if named:  # the words after "close", "out of", "breakeven" must name a trade or an instrument
                sym, obj = named.get("sym"), named.get("obj")
                if sym is not None and not is_symbol(sym):
                    continue  # "close to 2050", "breakeven is key"
                if obj is not None and not (obj in _TRADE_WORDS or is_symbol(obj)):
                    continue  # "we're out of the office"
            if bounds is None:
                bounds = sentence_bounds(s)
            sent = bisect_right(bounds, start)
            sent_start = bounds[sent - 1] if sent else 0
            before = s[max(sent_start, start - _NEAR):start]
            if _CONDITIONAL.search(before) or _NEGATED.search(before) or _HEDGED.search(before):
                continue
            sent_end = bounds[sent] if sent < len(bounds) else len(s)
            if _LATER_CONDITION.search(s, m.end(), min(sent_end, m.end() + _NEAR)):
                continue  # "move SL to BE when TP1 hits": a plan for later, not an instruction now
            ins = Instruction(action, start, m.end(), sent, tier=tier)
            if action in ("move_sl", "modify_tp"):
                parts = number_parts(m.group(m.lastindex or 1))
                if not parts:
                    continue
                ins.price = parts[0][0]
            elif action == "close_partial":
                said = m.group(1) if m.lastindex else m.group()
                ins.fraction = _fraction(said, s[sent_start:sent_end])
                if ins.fraction is None and "some" in said:
                    ins.tier = 1
            found.append(ins)
            if len(found) >= MAX_MATCHES:  # bounded work on a wall of text
                break
        if len(found) >= MAX_MATCHES:
            break
    if len(found) < 2:
        return found
    found.sort(key=lambda x: x.start)
    # A breakeven covers the SL move it overlaps ("move SL to BE at 4030"); a partial close covers
    # the close-all it overlaps ("close half now"); one instruction per action and sentence; the
    # same instruction twice in one post ("CLOSE XAUUSD / Take profit now") is one.
    kept: list[Instruction] = []
    seen: set[tuple] = set()
    for n, ins in enumerate(found):
        if any(_covers(o, ins) for o in found[max(0, n - 3):n + 4] if o is not ins):
            continue
        by_sentence, by_value = (ins.action, ins.sentence), (ins.action, ins.price, ins.fraction)
        if by_sentence in seen or by_value in seen:
            continue
        seen.add(by_sentence)
        seen.add(by_value)
        kept.append(ins)
    return kept


def _covers(a: Instruction, b: Instruction) -> bool:
    """a wins over b when they overlap and a is the more specific reading."""
    if a.start >= b.end or b.start >= a.end:
        return False
    if a.action == "breakeven" and b.action == "move_sl":
        return True
    return a.action == "close_partial" and b.action == "close_all"
