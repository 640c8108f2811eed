"""Management instructions: breakeven, move SL, modify TP, partial close, close all, cancel.

Patterns run on the normalised text (where "stop loss" is already "sl", "take profit" "tp",
"break even" "breakeven", "risk free" "riskfree"). Each pattern is an instruction shape
(a verb and its object), never a bare keyword, so "SL was hit at 4720", "trades that hit SL"
or "closes above 4700" are not instructions. A match in a sentence that is conditional on
the market ("if 15M closes above 4700, we will close") or negated ("don't move your SL")
is dropped; "if you have lower entries, keep them risk free" addresses the reader and stays.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from signalos.signals.parser.lexer import _number_parts

_NUM = r"(\d+(?:[.,]\d+)*)"
_SLK = r"(?:sl|stop|stops|stoploss)"
_TPK = r"(?:(?:tp|target|tgt)\d{1,2}|(?:tp|tps|targets?|tgt)(?:\s*\d{1,2}(?![\d.,]))?)"
_GAP = r"[^.!?;\n]{0,30}?"  # up to a few words in the same sentence
_GAP_NO_DIGIT = r"[^.!?;\n\d]{0,25}?"
_FROM_TO = r"(?:\d+(?:[.,]\d+)*\s+to\s+)?"  # "move SL from 2040 to 2050": the price after "to"

_MOVE_VERBS = (r"(?:move|moving|moved|adjust|adjusting|adjusted|update|updating|updated|change|changing|"
               r"changed|set|setting|shift|shifting|trail|trailing|tighten|tightening|raise|raising|lower|"
               r"lowering|bring|bringing|put|putting|make|making|modify|modifying|place|drag|push|pull)")
_TP_VERBS = (r"(?:move|moving|moved|adjust|adjusting|update|updating|change|changing|set|shift|extend|"
             r"extending|raise|lower|modify|push|new|updated|revised|replace)")
_PARTIAL_VERBS = (r"(?:close|closing|take|taking|secure|securing|book|booking|bank|banking|lock|locking|cut|"
                  r"cutting|scale|scaling|reduce|reducing|exit|exiting|trim|trimming|collect|collecting)")
_FRACTION = (r"(half|partials?|partially|quarter|third|two\s+thirds|three\s+quarters|\d{1,3}\s*%|[1-3]/[234]|"
             r"first(?:\s+(?:entries|entry|positions?|lots?|layers?|trades?|orders?))?|"
             r"some\s+(?:profits?|gains?|lots?|positions?|off)|part\s+of|portion)")

_PATTERNS: tuple[tuple[str, str, int], ...] = (
    # (action, regex, confidence tier: 0 explicit, 1 inferred)
    ("breakeven", rf"\b{_SLK}\s*(?:to|at|@|on|=|:|-|>)\s*(?:be|breakeven|entry|entries|cost|open)\b", 0),
    ("breakeven", r"\b(?:move|moving|moved|set|setting|put|putting|place|shift|adjust|bring|take|go|going|"
                  r"trail)\b(?:\s+[a-z']+){0,3}?\s+(?:(?:to|at|on)\s+be|breakeven)\b", 0),
    ("breakeven", r"\b(?:make|making|keep|keeping|set|setting|go|going|turn|is|are|now|trades?|positions?)\b"
                  r"(?:\s+[a-z']+){0,3}?\s+riskfree\b", 1),
    ("breakeven", r"(?m)^[^\w\n]*(?:breakeven|be|sl\s+(?:to\s+)?be)(?:\s+(?:now|all|everyone|guys|please))*"
                  r"[^\w\n]*$", 0),
    ("move_sl", rf"\b{_MOVE_VERBS}\b{_GAP}\b{_SLK}\b{_GAP_NO_DIGIT}{_FROM_TO}{_NUM}", 0),
    ("move_sl", rf"\b(?:new|updated|revised)\s+{_SLK}\b[^.!?;\n\d]{{0,10}}?{_NUM}", 0),
    ("move_sl", rf"\b{_SLK}\s+(?:moved|now|updated|changed|adjusted|raised|lowered|trailed|tightened)\b"
                rf"[^.!?;\n\d]{{0,10}}?{_NUM}", 0),
    ("modify_tp", rf"\b{_TP_VERBS}\b{_GAP}\b{_TPK}\b{_GAP_NO_DIGIT}{_FROM_TO}{_NUM}", 0),
    ("modify_tp", rf"\b(?:tp|target)\d{{0,2}}\s+(?:moved|changed|updated|extended|adjusted|now)\b"
                  rf"[^.!?;\n\d]{{0,10}}?{_NUM}", 0),
    ("close_partial", rf"\b{_PARTIAL_VERBS}\b(?:\s+(?:out|in|off))?(?:\s+(?:your|my|our|the|of|a|an|one))*"
                      rf"\s+{_FRACTION}", 0),
    ("close_partial", r"(?:^|[\s(])(\d{1,3}\s*%|half|a\s+quarter|a\s+third)\s+"
                      r"(?:of\s+(?:the\s+|your\s+|my\s+)?(?:position|trade|lots?|size)\s+)?(?:off|out)\b", 0),
    ("close_partial", r"\bpartial\s+(?:close|closing|exit|tp|profits?)\b", 0),
    ("close_all", r"\b(?:close|closing|exit|exiting)\s+(?:(?:all|everything|every|the\s+rest|rest|remaining|"
                  r"all\s+remaining|the\s+remaining|it|them|now|manually|market)\b|(?:(?:all|both)\s+)?"
                  r"(?:(?:my|your|our|the|this|these|those|all)\s+)*(?:trades?|positions?|orders?)\b)", 0),
    ("close_all", r"\b(?:i'?m|i\s+am|we'?re|we\s+are|everybody|everyone|all|get|getting)\s+out\b", 1),
    ("close_all", r"\b(?:close|closing|exit|exiting)\s+#?(?P<sym>[a-z][a-z0-9]*(?:[/ ][a-z0-9]+)?)", 0),
    ("cancel_pending", r"\b(?:cancel|cancelled|canceled|cancelling|delete|deleted|remove|removed|withdraw|"
                       r"void)\b(?!\s+(?:sl|tp|stop|target))", 0),
)
# The text is normalised (single spaces), and an instruction never spans lines: "\s" is a space.
_COMPILED = tuple((action, re.compile(src.replace(r"\s", " ")), tier) for action, src, tier in _PATTERNS)
# Cheap gate: no management word, no need to run the patterns.
_ANY = re.compile(r"\b(?:sl|stop|stops|tp|target|be|breakeven|riskfree|clos|exit|out|cancel|delet|remov|"
                  r"withdraw|void|half|partial|quarter|third|first|some|%|bank|book|secur|lock|cut|scal|"
                  r"reduc|trim|extend|new|move|adjust|updat|chang)", re.I)
_BOUNDARY = re.compile(r"[.!?;](?!\d)|\n")
_CONDITIONAL = re.compile(r"\b(?:if|when|whenever|once|unless|until)\b(?!\s+(?:you|u|anyone|someone|those|"
                          r"everyone|everybody|ya)\b)")
_NEGATED = re.compile(r"\b(?:not|never|no need to|nothing|avoid)\s+(?:\w+\s+){0,1}$")
_HEDGED = re.compile(r"\b(?:might|may|could|consider|considering|thinking|maybe|possibly|perhaps|planning)\b")
_FRACTIONS = {"half": 0.5, "quarter": 0.25, "third": 1 / 3, "two thirds": 2 / 3, "three quarters": 0.75,
              "1/2": 0.5, "1/3": 1 / 3, "1/4": 0.25, "2/3": 2 / 3, "3/4": 0.75, "2/4": 0.5}
_PERCENT = re.compile(r"(\d{1,3})\s*%")


@dataclass(slots=True)
class Instruction:
    action: str
    start: int
    end: int
    sentence: int
    price: float | None = None
    fraction: float | None = None
    tier: int = 0


def _value(raw: str) -> float | None:
    parts = _number_parts(raw)
    return parts[0][0] if parts else None


def _fraction(word: str, sentence_text: str) -> float | None:
    word = " ".join(word.split())
    if word.endswith("%"):
        pct = int(word[:-1].strip())
        return pct / 100 if 0 < pct < 100 else None
    if word in _FRACTIONS:
        return _FRACTIONS[word]
    m = _PERCENT.search(sentence_text)  # "bank some (30%)": the percentage stated nearby
    if m is not None and 0 < int(m.group(1)) < 100:
        return int(m.group(1)) / 100
    return None


def find_instructions(s: str, is_symbol) -> list[Instruction]:
    """Management instructions in normalised text `s`, in order, one per (action, price) per
    sentence. `is_symbol(name)` says whether a word after "close" names an instrument."""
    if not _ANY.search(s):
        return []
    found: list[Instruction] = []
    bounds: list[int] | None = None
    for action, regex, tier in _COMPILED:
        for m in regex.finditer(s):
            if bounds is None:
                bounds = [b.end() for b in _BOUNDARY.finditer(s)]
            start = m.start()
            if action == "close_all" and m.lastgroup == "sym" and not is_symbol(m.group("sym")):
                continue
            sent = bisect_right(bounds, start)
            sent_start = bounds[sent - 1] if sent else 0
            before = s[sent_start:start]
            if _CONDITIONAL.search(before) or _NEGATED.search(before) or _HEDGED.search(before):
                continue
            ins = Instruction(action, start, m.end(), sent, tier=tier)
            if action in ("move_sl", "modify_tp"):
                ins.price = _value(m.group(m.lastindex or 1))
                if ins.price is None:
                    continue
            elif action == "close_partial":
                sent_end = bounds[sent] if sent < len(bounds) else len(s)
                said = m.group(1) if m.lastindex else m.group()
                ins.fraction = _fraction(said, s[sent_start:sent_end])
                if ins.fraction is None and "some" in said:
                    ins.tier = 1
            found.append(ins)
    if not found:
        return found
    found.sort(key=lambda x: (x.start, x.action))
    # A breakeven covers the SL move it overlaps ("move SL to BE at 4030"); a partial close covers
    # the close-all it overlaps ("close half now"); one instruction per action and sentence.
    kept: list[Instruction] = []
    for ins in found:
        if any(_covers(k, ins) for k in kept) or any(_covers(o, ins) for o in found if o is not ins):
            continue
        if any(k.action == ins.action and k.sentence == ins.sentence for k in kept):
            continue
        kept.append(ins)
    # The same instruction twice in one post ("CLOSE XAUUSD / Take profit now") is one.
    out: list[Instruction] = []
    for ins in kept:
        if any(o.action == ins.action and o.price == ins.price and o.fraction == ins.fraction for o in out):
            continue
        out.append(ins)
    return out


def _covers(a: Instruction, b: Instruction) -> bool:
    """a wins over b when they overlap and a is the more specific reading."""
    if a.start >= b.end or b.start >= a.end:
        return False
    if a.action == "breakeven" and b.action == "move_sl":
        return True
    return a.action == "close_partial" and b.action == "close_all"
