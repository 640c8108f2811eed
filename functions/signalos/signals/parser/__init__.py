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
  number near the setup that fits no field -0.05 (max -0.15), a decimal comma guessed -0.10,
  a limit/stop order without a price -0.20. A bare "Sell EURUSD" is therefore 0.80.
- update: 0.90 for an explicit instruction ("move SL to 2050", "close half"), 0.75 for an
  inferred one ("I'm out", "make it risk free", "secure some profit"), 0.70 for a bare level
  sent on its own ("SL 4308"), read as a change to the previous signal.
- any sanity problem caps the item (unknown instrument 0.4, implausible price 0.3, SL/TP on the
  wrong side 0.4, TPs out of order or a very wide zone 0.5) and adds a warning: such results
  go to the slow path (LLM, threshold 0.6) and fail the risk engine's default minimum (0.8),
  so they are never traded blindly.
- the ParseResult's confidence is the lowest of its items; with no results it is 1.0 for plain
  chatter, 0.9 when trading words were present but clearly not an order (negated, hedged,
  conditional, a results post), and 0.5 when something looked like a setup but no instrument
  could be found (worth a second opinion).
"""

from __future__ import annotations

import re
from bisect import bisect_left

from signalos.contracts.parse_result import OpenSetup, ParseResult, SignalUpdate
from signalos.instruments import name_index
from signalos.signals.parser.lexer import (
    END,
    NL,
    NUM,
    PIPS,
    PUNCT,
    SIDE,
    SL,
    SYM,
    TP,
    lex,
)
from signalos.signals.parser.management import Instruction, find_instructions
from signalos.signals.parser.normalize import normalize
from signalos.signals.parser.provider_rules import ProviderRules
from signalos.signals.parser.sanity import validate_results
from signalos.signals.parser.setups import Draft, find_heads, read_segment, segment_starts

__all__ = ["MAX_TEXT_CHARS", "ProviderRules", "parse_message", "validate_results"]

MAX_TEXT_CHARS = 10_000  # longer input is cut: Telegram posts are at most 4096 characters

_NOT_A_SIGNAL = re.compile(
    r"\b(?:not a signal|no signal|educational purposes?|for education|just an example)\b"
)
_ADVERT = re.compile(
    r"\b(?:join|subscribe|subscription|membership|promo|discount|sign up|signup|dm me|inbox me|contact us|"
    r"whatsapp|per month|lifetime|package|giveaway|referral)\b|\$\s?\d"
)
_BARE_LEVEL_KINDS = frozenset((SL, TP, NUM, SYM, PUNCT, NL, END, PIPS))


def _empty(confidence: float, warnings: list[str] | None = None) -> ParseResult:
    return ParseResult.model_construct(
        results=[], parser="rules", confidence=confidence, warnings=warnings or []
    )


def _is_symbol(name: str) -> bool:
    """Whether the words after "close" name an instrument: both words ("eur usd"), else the first."""
    index = name_index()
    if "".join(ch for ch in name.upper() if ch.isalnum()) in index:
        return True
    first = name.replace("/", " ").split(" ", 1)[0]
    return first.upper() in index


def parse_message(text: str, rules: ProviderRules | None = None) -> ParseResult:
    """Parse one post into opens and updates (contract v1). Never raises on odd input."""
    if not isinstance(text, str) or not text.strip():
        return _empty(1.0)
    text = text[:MAX_TEXT_CHARS]
    if rules is not None and rules.ignores(text):
        return _empty(1.0, ["ignored by a provider rule"])
    s = normalize(text)
    if not s:
        return _empty(1.0)
    toks = lex(s, rules)
    instructions = find_instructions(s, _is_symbol)
    starts = [t.start for t in toks]
    blocked: set[int] = set()
    for ins in instructions:
        k = bisect_left(starts, ins.start)
        if k < len(toks):
            blocked.add(toks[k].sent)
    scan = find_heads(toks, rules, blocked)

    drafts: list[Draft] = []
    rejected = list(scan.rejected)
    if scan.heads:
        seg_starts = segment_starts(toks, scan.heads)
        not_a_signal = _NOT_A_SIGNAL.search(s) is not None
        advert = _ADVERT.search(s) is not None
        for n, head in enumerate(scan.heads):
            lo = seg_starts[n]
            hi = seg_starts[n + 1] if n + 1 < len(seg_starts) else len(toks)
            seg_end = toks[hi].start if hi < len(toks) else len(s)
            draft, results_post = read_segment(toks, lo, hi, head, seg_end)
            if results_post:
                rejected.append("results post")
                continue
            has_levels = (draft.entry, draft.zone, draft.stop_loss, draft.sl_pips) != (None,) * 4 or bool(
                draft.take_profits or draft.tp_pips
            )
            if not_a_signal or (advert and not has_levels):
                rejected.append("advert or education")
                continue
            has_stop = draft.stop_loss is not None or draft.sl_pips is not None
            if head.weak and not (has_stop and (draft.take_profits or draft.tp_pips)):
                rejected.append("commentary")  # "bearish momentum": an order needs its levels
                continue
            drafts.append(draft)

    # Management said inside a setup ("... TP3 2475, move SL to BE after TP1") is part of its plan.
    instructions = [i for i in instructions if not any(d.start < i.start < d.seg_end for d in drafts)]
    update_symbol = next((t.value for t in toks if t.kind == SYM), None)
    items: list[tuple[int, OpenSetup | SignalUpdate]] = []
    for d in drafts:
        items.append((d.start, _open_item(d, rules)))
    for ins in instructions:
        items.append((ins.start, _update_item(ins, update_symbol)))
    if not items and not scan.heads and scan.unbound == 0:
        items = _bare_levels(toks, update_symbol)
    items.sort(key=lambda pair: pair[0])
    results = [item for _, item in items]

    if not results:
        if scan.unbound and any(t.kind in (SL, TP) for t in toks) and any(t.kind == NUM for t in toks):
            return _empty(0.5, ["a direction and levels but no instrument"])
        if rejected or any(t.kind == SIDE for t in toks):
            return _empty(0.9, sorted(set(rejected)))
        return _empty(1.0)
    result = ParseResult.model_construct(results=results, parser="rules", confidence=1.0, warnings=[])
    validate_results(result, annotate=True)
    result.confidence = min(item.confidence for item in results)
    result.warnings = [w for item in results for w in item.warnings]
    return result


def _open_item(d: Draft, rules: ProviderRules | None) -> OpenSetup:
    head = d.head
    warnings = list(d.warnings)
    c = 1.0 - d.penalty
    sl_pips, tp_pips = d.sl_pips, list(d.tp_pips)
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
    return OpenSetup.model_construct(
        kind="open",
        symbol=head.symbol,
        side=head.side,
        order_type=order_type,
        entry=d.entry,
        entry_zone=d.zone,
        stop_loss=d.stop_loss,
        take_profits=d.take_profits,
        sl_pips=sl_pips,
        tp_pips=tp_pips,
        confidence=round(max(0.05, min(1.0, c)), 4),
        warnings=warnings,
    )


def _update_item(ins: Instruction, symbol: str | None) -> SignalUpdate:
    return SignalUpdate.model_construct(
        kind="update",
        action=ins.action,
        price=ins.price,
        fraction=ins.fraction,
        symbol=symbol,
        confidence=0.9 if ins.tier == 0 else 0.75,
        warnings=[],
    )


def _bare_levels(toks: list, symbol: str | None) -> list[tuple[int, OpenSetup | SignalUpdate]]:
    """A post that is nothing but "SL 4308" (or "TP 4290") changes the previous signal."""
    if not toks or any(t.kind not in _BARE_LEVEL_KINDS for t in toks):
        return []
    out: list[tuple[int, OpenSetup | SignalUpdate]] = []
    field = None
    for t in toks:
        if t.kind in (SL, TP):
            field = t.kind
        elif t.kind == NUM and field is not None and not (t.flags & 0b1111):
            action = "move_sl" if field == SL else "modify_tp"
            if action == "move_sl" and any(a.action == "move_sl" for _, a in out):  # type: ignore[union-attr]
                continue
            out.append((t.start, SignalUpdate.model_construct(
                kind="update", action=action, price=float(t.value), fraction=None, symbol=symbol,
                confidence=0.7, warnings=[])))
    return out

