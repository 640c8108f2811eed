"""Per-provider rules, applied on top of the generic rules parser.

A provider (one Telegram channel) often has habits the generic parser cannot know: its own
name for an instrument ("YELLOW" for gold), words in its language for buy/sell, a fixed
stop in pips it never writes, boilerplate lines to ignore. The owner stores these on the
provider; the parser reads them for every message of that provider.

Everything here is user input, so it is bounded: short lists, short strings, and regexes
that are checked before they are ever run (length cap, no backreferences, no nested or
alternating repetition that can backtrack catastrophically), then compiled once.
"""

from __future__ import annotations

import re

# Python 3.11+: the regex parser and compiler live in re._parser / re._compiler.
from re import _compiler as _sre_compile  # type: ignore[attr-defined]
from re import _parser as _sre_parse  # type: ignore[attr-defined]
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from signalos.instruments import clean_name, lookup_instrument

MAX_PATTERN_CHARS = 200
MAX_PATTERNS = 10
# Patterns run on each line of a post, cut to this many characters and this many lines, so the
# work per post is bounded even for a pattern like ".*x" (quadratic in the line length).
MATCH_LINE_CHARS = 200
MATCH_MAX_LINES = 30
# Product over a pattern's repetitions of how many lengths each can take (unbounded = a whole
# line): a proxy for backtracking. One ".*" passes; ".*.*" or "\w+\s*\w+" (polynomial blow-up) do not.
MAX_AMBIGUITY = 1_000
MAX_ALIASES = 100
MAX_KEYWORDS = 20
MAX_KEYWORD_CHARS = 32
MAX_PIPS = 10_000.0

_SYMBOL_SHAPE = re.compile(r"^[A-Z0-9]{2,20}$")
_SYMBOL_WRITTEN = re.compile(r"^[#$]?[A-Za-z0-9]{1,12}(?:[ /._-][A-Za-z0-9]{1,12})?$")  # "GBP/TRY", "US 30"
# One word as the lexer reads words: letters then letters/digits, one apostrophe allowed ("compra", "купить").
_KEYWORD_SHAPE = re.compile(r"^[^\W\d_][^\W_]*(?:'[^\W\d_]+)?$")


class UnsafePattern(ValueError):
    """A regex that is too long, invalid, or can take exponential time."""


# Characters used to decide whether two one-character matchers can match the same character.
_PROBE = "".join(chr(c) for c in range(32, 127)) + "\t\n\u00a0éÉßЖж€£¥٣١😀🚀—–•→"
_SINGLE_CHAR_OPS = frozenset({"LITERAL", "NOT_LITERAL", "ANY", "IN", "CATEGORY"})


class _Walker:
    """Walks a parsed regex: rejects backreferences, nested repetition and repeated
    alternation (exponential backtracking), and bounds the polynomial kind by multiplying the
    length choices of every repetition whose end is not pinned by a disjoint next character."""

    def __init__(self, state: object) -> None:
        self.state = state

    def char_set(self, node: tuple) -> tuple[frozenset[str], bool] | None:
        """(probe characters accepted, may be empty) of a one-character matcher or a repeat of
        one; None when the node is anything else."""
        op, arg = node
        optional = False
        if str(op) in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if len(arg[2]) != 1:
                return None
            optional = arg[0] < 1
            node = arg[2][0]
            op = node[0]
        if str(op) not in _SINGLE_CHAR_OPS:
            return None
        matcher = _sre_compile.compile(_sre_parse.SubPattern(self.state, [node]), re.IGNORECASE)
        return frozenset(ch for ch in _PROBE if matcher.fullmatch(ch)), optional

    def walk(self, items: list, inside_repeat: bool) -> int:
        ambiguity = 1
        items = list(items)
        for index, (op, arg) in enumerate(items):
            name = str(op)
            if name in ("GROUPREF", "GROUPREF_EXISTS"):
                raise UnsafePattern("backreferences are not allowed")
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                lo, hi, sub = arg
                unbounded = hi is _sre_parse.MAXREPEAT or hi > 100
                if inside_repeat and hi > 1:
                    raise UnsafePattern("nested repetition such as (a+)+ is not allowed")
                inner = self.walk(sub, inside_repeat or hi > 1)
                choices = (MATCH_LINE_CHARS if unbounded else hi) - lo + 1
                if choices > 1 and self.pinned(items, index):
                    choices = 1
                ambiguity *= max(1, choices) * inner
            elif name == "BRANCH":
                if inside_repeat:
                    raise UnsafePattern("repeating an alternation such as (a|b)+ is not allowed")
                ambiguity *= sum(self.walk(alternative, inside_repeat) for alternative in arg[1])
            elif name == "SUBPATTERN":
                ambiguity *= self.walk(arg[-1], inside_repeat)
            elif name in ("ASSERT", "ASSERT_NOT"):
                ambiguity *= self.walk(arg[1], inside_repeat)
            elif name == "ATOMIC_GROUP":
                ambiguity *= self.walk(arg, inside_repeat)
            if ambiguity > MAX_AMBIGUITY:
                raise UnsafePattern(
                    "too many ways to match (e.g. .*.* or \\w+\\s*\\w+): make the parts distinct"
                )
        return ambiguity

    def pinned(self, items: list, index: int) -> bool:
        """A repeat of one character class followed only by characters it cannot match ends at
        one place (`\\s+\\w`, `\\d+\\s*pips`), and a repeat at the very end never backtracks."""
        mine = self.char_set(items[index])
        if mine is None:
            return index == len(items) - 1
        for node in items[index + 1:]:
            nxt = self.char_set(node)
            if nxt is None or nxt[0] & mine[0]:
                return False
            if not nxt[1]:
                return True
        return True


def check_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a user-supplied regex after proving it is bounded; raise UnsafePattern if not."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise UnsafePattern("empty pattern")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise UnsafePattern(f"pattern longer than {MAX_PATTERN_CHARS} characters")
    try:
        parsed = _sre_parse.parse(pattern, re.IGNORECASE)
        compiled = re.compile(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as exc:
        raise UnsafePattern(f"not a valid regular expression: {exc}") from None
    _Walker(parsed.state).walk(parsed.data, False)
    return compiled


class ProviderRules(BaseModel):
    """What the owner of a provider tells the parser about that provider's posts."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    symbol_aliases: dict[str, str] = Field(
        default_factory=dict,
        description='the provider\'s names for instruments -> canonical symbol, e.g. {"YELLOW": "XAUUSD"}',
    )
    buy_keywords: list[str] = Field(default_factory=list, description="extra words for buy ('compra')")
    sell_keywords: list[str] = Field(default_factory=list, description="extra words for sell ('vende')")
    default_symbol: str | None = Field(
        default=None, description="instrument of a single-instrument channel that often omits it"
    )
    default_sl_pips: float | None = Field(
        default=None, gt=0, le=MAX_PIPS, description="SL distance when a post gives none (fills sl_pips)"
    )
    default_tp_pips: list[float] = Field(
        default_factory=list, max_length=10, description="TP distances when a post gives none (fills tp_pips)"
    )
    ignore_patterns: list[str] = Field(
        default_factory=list, description="regexes (case-insensitive); a post matching any is ignored"
    )
    prefer_order_type: Literal["market", "limit"] | None = Field(
        default=None, description="order type for a single-price post that does not say"
    )

    _compiled: tuple[re.Pattern[str], ...] = PrivateAttr(default=())
    _aliases: dict[str, str] = PrivateAttr(default_factory=dict)
    _buy: frozenset[str] = PrivateAttr(default=frozenset())
    _sell: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator("symbol_aliases")
    @classmethod
    def _check_aliases(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_ALIASES:
            raise ValueError(f"at most {MAX_ALIASES} aliases")
        out: dict[str, str] = {}
        for alias, symbol in value.items():
            key = clean_name(alias)
            if not key or len(key) > 32:
                raise ValueError(f"alias {alias!r} must have 1-32 letters or digits")
            out[key] = _canonical(symbol)
        return out

    @field_validator("default_symbol")
    @classmethod
    def _check_default_symbol(cls, value: str | None) -> str | None:
        return None if value is None else _canonical(value)

    @field_validator("buy_keywords", "sell_keywords")
    @classmethod
    def _check_keywords(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_KEYWORDS:
            raise ValueError(f"at most {MAX_KEYWORDS} keywords")
        out = []
        for word in value:
            word = str(word).strip().lower()
            if not word or len(word) > MAX_KEYWORD_CHARS or not _KEYWORD_SHAPE.match(word):
                raise ValueError(
                    f"keyword {word!r} must be one word of 1-{MAX_KEYWORD_CHARS} letters or digits, "
                    "starting with a letter"
                )
            out.append(word)
        return out

    @field_validator("default_tp_pips")
    @classmethod
    def _check_tp_pips(cls, value: list[float]) -> list[float]:
        for pips in value:
            if not (0 < pips <= MAX_PIPS):
                raise ValueError(f"TP distances must be in (0, {MAX_PIPS:g}] pips")
        return value

    @field_validator("ignore_patterns")
    @classmethod
    def _check_patterns(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_PATTERNS:
            raise ValueError(f"at most {MAX_PATTERNS} ignore patterns")
        for pattern in value:
            try:
                check_pattern(pattern)
            except UnsafePattern as exc:
                raise ValueError(f"ignore pattern {pattern[:40]!r}: {exc}") from None
        return value

    def model_post_init(self, __context: object) -> None:
        self._compiled = tuple(check_pattern(p) for p in self.ignore_patterns)
        self._aliases = dict(self.symbol_aliases)
        self._buy = frozenset(self.buy_keywords)
        self._sell = frozenset(self.sell_keywords)

    # --- what the parser asks ---------------------------------------------------------------
    def ignores(self, text: str) -> bool:
        """True when a line of the post matches one of the provider's ignore patterns."""
        if not self._compiled:
            return False
        lines = [line[:MATCH_LINE_CHARS] for line in text.splitlines()[:MATCH_MAX_LINES]]
        return any(p.search(line) for p in self._compiled for line in lines)

    def alias(self, cleaned_name: str) -> str | None:
        """Canonical symbol for a cleaned name (see instruments.clean_name), or None."""
        return self._aliases.get(cleaned_name)

    def side_of(self, word: str) -> Literal["buy", "sell"] | None:
        if word in self._buy:
            return "buy"
        if word in self._sell:
            return "sell"
        return None

    @property
    def has_keywords(self) -> bool:
        return bool(self._buy or self._sell)


def _canonical(symbol: str) -> str:
    """A known instrument resolves to its canonical symbol; an unknown one must look like a symbol."""
    inst = lookup_instrument(symbol)
    if inst is not None:
        return inst.symbol
    cleaned = clean_name(symbol)
    if not _SYMBOL_WRITTEN.match(symbol.strip()) or not _SYMBOL_SHAPE.match(cleaned):
        raise ValueError(f"{symbol!r} is not an instrument symbol")
    return cleaned
