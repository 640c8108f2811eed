"""The rules parser: text in, parse result (signalos.contracts.parse_result) out. Pure Python.

    from signalos.signals.parser import parse_message, validate_results
    result = parse_message("XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955 TP2 1960")

Pipeline: normalise (normalize.py) -> tokens (lexer.py) -> management instructions
(management.py) and open setups (setups.py) -> sanity checks (sanity.py) -> confidence.
Channel-agnostic: no rule names a channel; a provider's own habits come in as ProviderRules.

Confidence (0..1) says how sure the parser is that a result is exactly what the post means:

- open: 1.0 for a setup with instrument and direction on one line, explicit entry or order
  type, SL and TPs, all sane. Deductions: no SL -0.10 ("SL open" -0.05), no TP -0.05, neither
  an entry price nor an explicit order type -0.05, instrument taken from the neighbouring line
  -0.05 or from the provider's default -0.10, direction only as "bullish/bearish" -0.15, each
  number near the setup that fits no field -0.05 (max -0.15), a decimal comma guessed or a
  signed TP without "pips" ignored -0.10, a limit/stop order without a price -0.20.
  A bare "Sell EURUSD" is therefore 0.80, "Buy Gold Now" 0.85.
- update: 0.90 for an explicit instruction ("move SL to 2050", "close half"), 0.75 for an
  inferred one ("I'm out", "make it risk free", "secure some profit"), 0.70 for a bare level
  sent on its own ("SL 4308"), read as a change to the previous signal.
- any sanity problem caps the item (unknown instrument 0.4, implausible price 0.3, SL/TP on the
  wrong side 0.4, TPs out of order or a very wide zone 0.5) and adds a warning: such results
  go to the slow path (LLM, threshold 0.6) and fail the risk engine's default minimum (0.8),
  so they are never traded blindly.
- the ParseResult's confidence is the lowest of its items; with no results it is 1.0 for plain
  chatter, 0.9 when trading words were present but clearly not an order (negated, hedged,
  conditional, a question, a results post, an advert), and 0.5 when a direction and levels
  were found but no instrument (worth a second opinion). More than MAX_RESULTS setups in one
  post caps it at 0.5 too (the rest are dropped, with a warning).
- `warnings` say why: on items, what lowered their confidence; on an empty result, why each
  direction in the post was not taken as an order.

Bounded work: input is cut at MAX_TEXT_CHARS, at most 40 directions and 100 management matches
are looked at, so a hostile 10,000-character post costs milliseconds, not seconds.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from signalos.contracts.parse_result import OpenSetup, ParseResult, SignalUpdate
from signalos.instruments import name_index
from signalos.signals.parser.lexer import (
    END,
    FLAGS,
    NL,
    NUM,
    PIPS,
    PUNCT,
    SENT,
    SL,
    SYM,
    TP,
    VAL,
    K,
    Lexed,
    lex,
)
from signalos.signals.parser.management import Instruction, find_instructions
from signalos.signals.parser.normalize import normalize
from signalos.signals.parser.provider_rules import ProviderRules
from signalos.signals.parser.sanity import validate_results
from signalos.signals.parser.setups import Draft, find_heads, is_index, read_segment, segment_starts

__all__ = ["MAX_RESULTS", "MAX_TEXT_CHARS", "ProviderRules", "parse_message", "validate_results"]

MAX_TEXT_CHARS = 10_000  # longer input is cut: Telegram posts are at most 4096 characters
MAX_RESULTS = 20

_NOT_A_SIGNAL = re.compile(
    r"\b(?:not a signal|no signal|educational purposes?|for education|just an example)\b"
)
_NOT_A_SIGNAL_WORDS = frozenset(("signal", "educational", "education", "example"))
_ADVERT = re.compile(
    r"\b(?:join|subscribe|subscription|membership|promo|discount|sign up|signup|dm me|inbox me|contact us|"
    r"whatsapp|per month|lifetime|package|giveaway|referral)\b|\$ ?\d"
)
_BARE_LEVEL_KINDS = frozenset((SL, TP, NUM, SYM, PUNCT, NL, END, PIPS))


# --- building contract models without re-validating what the parser just checked ------------
_set = object.__setattr__


def _constructor(cls: type[BaseModel]) -> Any:
    """A constructor for `cls` from a complete dict of field values, skipping validation (the
    parser builds only values it has checked). It is what `model_construct` does minus the
    per-field bookkeeping; if this pydantic version stores models differently, the self-check
    below falls back to `model_construct`."""

    new = cls.__new__

    def make(values: dict[str, Any]) -> Any:
        obj = new(cls)
        _set(obj, "__dict__", values)
        # every field is given, so the set never changes: one per model, not one per object
        _set(obj, "__pydantic_fields_set__", all_fields)
        _set(obj, "__pydantic_extra__", None)
        _set(obj, "__pydantic_private__", None)
        return obj

    all_fields = set(cls.model_fields)

    return make


def _checked(cls: type[BaseModel], sample: dict[str, Any]) -> Any:
    fast = _constructor(cls)
    try:
        made, reference = fast(dict(sample)), cls.model_validate(sample)
        same = made == reference and repr(made) == repr(reference)
        if same and made.model_dump() == reference.model_dump():
            return fast
    except Exception:  # pragma: no cover - only with an incompatible pydantic
        pass
    return lambda values: cls.model_construct(**values)  # pragma: no cover


_make_open = _checked(OpenSetup, {
    "kind": "open", "symbol": "XAUUSD", "side": "buy", "order_type": "market", "entry": 2050.0,
    "entry_zone": None, "stop_loss": 2045.0, "take_profits": [2060.0], "sl_pips": None, "tp_pips": [],
    "confidence": 1.0, "warnings": []})
_make_update = _checked(SignalUpdate, {
    "kind": "update", "action": "move_sl", "price": 2050.0, "fraction": None, "symbol": None,
    "confidence": 0.9, "warnings": []})
_make_result = _checked(ParseResult, {"results": [], "parser": "rules", "confidence": 1.0, "warnings": []})


def _empty(confidence: float, warnings: list[str] | None = None) -> ParseResult:
    return _make_result({"results": [], "parser": "rules", "confidence": confidence,
                         "warnings": warnings or []})


def _is_symbol(name: str) -> bool:
    """Whether the words after "close" name an instrument: both words ("eur usd"), else the first."""
    index = name_index()
    if "".join(ch for ch in name.upper() if ch.isalnum()) in index:
        return True
    return name.replace("/", " ").split(" ", 1)[0].upper() in index


# --- the parser ---------------------------------------------------------------------------------
def parse_message(text: str, rules: ProviderRules | None = None) -> ParseResult:
    """Parse one post into opens and updates (contract v1). Never raises on odd input."""
    if not isinstance(text, str):
        return _empty(1.0)
    cut = len(text) > MAX_TEXT_CHARS
    if cut:
        text = text[:MAX_TEXT_CHARS]
    if rules is not None and rules.ignores(text):
        return _empty(1.0, ["ignored by a provider rule"])
    s = normalize(text)
    if not s:
        return _empty(1.0)
    lexed = lex(s, rules)
    toks = lexed.toks
    instructions = find_instructions(s, lexed.words, _is_symbol)
    blocked: set[int] = {ins.sentence for ins in instructions}
    scan = find_heads(lexed, rules, blocked)

    drafts: list[Draft] = []
    rejected = scan.rejected
    if scan.heads:
        drafts = _read_setups(s, lexed, scan.heads, rejected)

    # Management said inside a setup ("... TP3 2475, move SL to BE after TP1") is part of its plan.
    if drafts and instructions:
        instructions = [i for i in instructions
                        if not any(d.first_sent <= i.sentence <= d.last_sent for d in drafts)]
    update_symbol = scan.first_symbol
    keyed: list[tuple[tuple[int, int, int], OpenSetup | SignalUpdate]] = []
    for d in drafts:
        keyed.append(((d.first_sent, 0, d.head.side_idx), _open_item(d, rules)))
    for ins in instructions:
        keyed.append(((ins.sentence, 1, ins.start), _update_item(ins, update_symbol)))
    if not keyed and not scan.heads and not scan.unbound:
        keyed = _bare_levels(lexed, s, update_symbol)
    if not keyed:
        if scan.unbound and any(t[K] in (SL, TP) for t in toks) and any(t[K] == NUM for t in toks):
            return _empty(0.5, ["a direction and levels but no instrument"])
        if rejected or scan.directions:
            return _empty(0.9, sorted(set(rejected)))
        return _empty(1.0)
    if len(keyed) > 1:
        keyed.sort(key=lambda pair: pair[0])
    results = [item for _, item in keyed]
    warnings: list[str] = [f"post cut at {MAX_TEXT_CHARS} characters"] if cut else []
    if len(results) > MAX_RESULTS:  # a wall of setups is spam or a pasted history, not a signal to copy
        results = results[:MAX_RESULTS]
        warnings.append(f"more than {MAX_RESULTS} results: the rest were dropped")
    validate_results(results, annotate=True)
    confidence = min(item.confidence for item in results)
    if warnings:  # cut or crowded: someone should look before anything is traded
        confidence = min(confidence, 0.5)
    return _make_result({
        "results": results,
        "parser": "rules",
        "confidence": confidence,
        "warnings": warnings + [w for item in results for w in item.warnings],
    })


def _read_setups(s: str, lexed: Lexed, heads: list, rejected: list[str]) -> list[Draft]:
    toks = lexed.toks
    starts = segment_starts(lexed, heads)
    not_a_signal = not lexed.words.isdisjoint(_NOT_A_SIGNAL_WORDS) and _NOT_A_SIGNAL.search(s) is not None
    advert = None
    drafts = []
    for n, head in enumerate(heads):
        hi = starts[n + 1] if n + 1 < len(starts) else len(toks)
        draft, results_post = read_segment(lexed, starts[n], hi, head)
        if results_post:
            rejected.append("results post")
            continue
        if not draft.has_levels:
            if advert is None:
                advert = _ADVERT.search(s) is not None
            if advert:
                rejected.append("advert")
                continue
        if not_a_signal:
            rejected.append("education, not a signal")
            continue
        if draft.hedged:
            rejected.append("a heads-up without levels")
            continue
        if head.weak and not ((draft.stop_loss is not None or draft.sl_pips is not None)
                              and (draft.take_profits or draft.tp_pips)):
            rejected.append("commentary")  # "bearish momentum": an order needs its levels
            continue
        drafts.append(draft)
    return drafts


def _open_item(d: Draft, rules: ProviderRules | None) -> OpenSetup:
    head = d.head
    warnings = d.warnings
    c = 1.0 - d.penalty
    sl_pips, tp_pips = d.sl_pips, d.tp_pips
    if rules is not None:
        if d.stop_loss is None and sl_pips is None and not d.sl_open and rules.default_sl_pips is not None:
            sl_pips = rules.default_sl_pips
            warnings.append("SL distance from the provider's default")
        if not d.take_profits and not tp_pips and rules.default_tp_pips:
            tp_pips = list(rules.default_tp_pips)
            warnings.append("TP distances from the provider's default")
    if d.stop_loss is None and sl_pips is None:
        c -= 0.05 if d.sl_open else 0.10
    if not d.take_profits and not tp_pips:
        c -= 0.05
    order_type, explicit = d.order_type, d.order_explicit
    if not explicit and d.entry is not None and rules is not None and rules.prefer_order_type:
        order_type = rules.prefer_order_type
    if d.entry is None and d.zone is None:
        if not explicit:
            c -= 0.05
        elif order_type != "market":
            c -= 0.20
            warnings.append(f"a {order_type} order without an entry price")
    if head.binding == "near":
        c -= 0.05
    elif head.binding == "default":
        c -= 0.10
        warnings.append("instrument from the provider's default")
    if head.weak:
        c -= 0.15
    if d.stray_numbers:
        c -= min(0.15, 0.05 * d.stray_numbers)
    return _make_open({
        "kind": "open",
        "symbol": head.symbol,
        "side": head.side,
        "order_type": order_type,
        "entry": d.entry,
        "entry_zone": d.zone,
        "stop_loss": d.stop_loss,
        "take_profits": d.take_profits,
        "sl_pips": sl_pips,
        "tp_pips": tp_pips,
        "confidence": round(max(0.05, min(1.0, c)), 4),
        "warnings": warnings,
    })


def _update_item(ins: Instruction, symbol: str | None, confidence: float | None = None) -> SignalUpdate:
    return _make_update({
        "kind": "update",
        "action": ins.action,
        "price": ins.price,
        "fraction": ins.fraction,
        "symbol": symbol,
        "confidence": confidence if confidence is not None else (0.9 if ins.tier == 0 else 0.75),
        "warnings": [],
    })


def _bare_levels(lexed: Lexed, s: str, symbol: str | None) -> list:
    """A post that is nothing but "SL 4308" (or "TP 4290") changes the previous signal."""
    toks = lexed.toks
    if not toks or toks[0][K] not in (SL, TP, SYM) or any(t[K] not in _BARE_LEVEL_KINDS for t in toks):
        return []
    out: list = []
    field = None
    for n, t in enumerate(toks):
        if t[K] in (SL, TP):
            field = t[K]
        elif t[K] == NUM and field is not None and not t[FLAGS] and not is_index(toks, n):
            action = "move_sl" if field == SL else "modify_tp"
            if action == "move_sl" and any(item.action == "move_sl" for _, item in out):
                continue
            ins = Instruction(action, n, n, t[SENT], price=t[VAL])
            out.append(((t[SENT], 1, n), _update_item(ins, symbol, 0.7)))
            if len(out) > MAX_RESULTS:
                break
    return out


