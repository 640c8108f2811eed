"""Text normalisation: every way a channel decorates a post folds to one plain, lower-case form.

Order matters:
1. keycap digits ("1️⃣") and circled numbers are list markers, never prices: they go first,
   before NFKC would turn them into plain digits;
2. a 🎯 (or 🛑) in front of a number is a TP (SL) label, so it becomes the word;
3. NFKC folds stylised letters (𝐗𝐀𝐔𝐔𝐒𝐃, 𝙂𝙊𝙇𝘿), superscripts (TP¹), full-width forms;
4. dashes, tildes and quotes are unified; markdown markers and every other symbol (emoji,
   bullets, arrows, flags) become spaces;
5. multi-word phrases that mean one thing ("stop loss", "S/L", "take profit", "buy limit",
   "break even", "at market") become single words, so the lexer and the management rules see
   one token per idea.
"""

from __future__ import annotations

import re
import unicodedata

# Keycaps: digit/#/* + optional VS16 + COMBINING ENCLOSING KEYCAP. Circled/parenthesised/
# full-stop numbers (①, ⑴, ⒈, ❶, ➀) and dingbat negatives.
_MARKERS = re.compile(
    "[0-9#*]\ufe0f?\u20e3|[\u2460-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32bf]"
)
_TARGET_EMOJI = re.compile("\U0001f3af\ufe0f?(?=[\\s:.\\-]*[+\\d])")  # 🎯 2055
_STOP_EMOJI = re.compile("[\U0001f6d1\u26d4]\ufe0f?(?=[\\s:.\\-]*\\d)")  # 🛑 2045 / ⛔ 2045

_TRANSLATE = str.maketrans({
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d\u2e3a\u2e3b", "-"),
    **dict.fromkeys("\u301c\u223c\u02dc\u2053", "~"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("*_", " "),
    "\u00d7": "x",
    "\u2044": "/",
})

# Everything that is not a letter, digit, whitespace or punctuation we read becomes a space.
_DROP = re.compile(r"""[^\w\s.,:;/@~|()&%+#$'"=!?\-]""")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\s*\n\s*")

# One pass that rewrites phrases to single words. Each alternative is a (regex, replacement)
# pair; the alternatives are tried in order at every position.
_PHRASES: tuple[tuple[str, str], ...] = (
    (r"take\s+(?:the\s+|your\s+|all\s+)?profits?\s+now", " close now "),
    (r"stop[\s-]*loss(?:es)?|stoploss(?:es)?|s\s?[/.]\s?l\b\.?", " sl "),
    (r"take[\s-]*profits?|t\s?[/.]\s?p\b\.?|profit\s+targets?", " tp "),
    (r"entry\s+(?:zone|price|point|level|area|range)s?|open(?:ing)?\s+price|enter\s+(?:at|@)", " entry "),
    (r"(?:at|@)\s+(?:the\s+)?(?:current\s+)?market(?:\s+price)?|current\s+market\s+price"
     r"|market\s+(?:price|execution|order)|instant\s+execution", " market "),
    (r"(?:buy|sell)[\s-]*(?:limit|stop)(?![\s-]*(?:loss|sl)\b)", ""),  # "buy limit" -> "buylimit"
    (r"break[\s-]*even|b/e\b", " breakeven "),
    (r"risk[\s-]*free|zero\s+risk|no\s+risk", " riskfree "),
    (r"do\s+not|don'?t|never\s+ever", " not "),
    (r"as\s+long\s+as|so\s+long|long[\s-]+term|short[\s-]+term|long[\s-]+run|sell[\s-]+off|short[\s-]+squeeze"
     r"|buy[\s-]+side|sell[\s-]+side|long[\s-]+time", " _ "),
    (r"(?:wait(?:ing)?|the\s+wait)\s+is\s+over|no\s+more\s+waiting", " "),
    (r"in\s+(?:strong\s+|good\s+|nice\s+)?profits?", " inprofit "),
    (r"no\s+longer\s+valid|not\s+valid\s+any\s*more|is\s+invalid(?!\s*[:@]?\s*\d)", " cancelled "),
    (r"s\s*&\s*p", "sp"),
)
_PHRASE_RE = re.compile(
    r"\b(?:" + "|".join(f"(?P<g{i}>{src})" for i, (src, _) in enumerate(_PHRASES)) + r")"
)
_PHRASE_OUT = {f"g{i}": out for i, (_, out) in enumerate(_PHRASES)}


def _phrase(m: re.Match[str]) -> str:
    out = _PHRASE_OUT[m.lastgroup]  # type: ignore[index]
    if out:
        return out
    return " " + m.group().replace(" ", "").replace("-", "") + " "  # glue the words together


def fold(text: str) -> str:
    """Steps 1-4: the post as plain lower-case text, lines kept, decoration gone."""
    if not text.isascii():
        text = _MARKERS.sub(" ", text)
        text = _TARGET_EMOJI.sub(" tp ", text)
        text = _STOP_EMOJI.sub(" sl ", text)
        text = unicodedata.normalize("NFKC", text)
    text = text.translate(_TRANSLATE).lower()
    text = text.replace("->", " ").replace("=>", " ")
    text = _DROP.sub(" ", text)
    text = _SPACES.sub(" ", text)
    return _BLANK_LINES.sub("\n", text).strip()


def normalize(text: str) -> str:
    """The post as the lexer reads it: folded, with multi-word phrases as single words."""
    return _SPACES.sub(" ", _PHRASE_RE.sub(_phrase, fold(text))).strip()
