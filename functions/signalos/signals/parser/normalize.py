"""Text normalisation: every way a channel decorates a post folds to one plain, lower-case form.

Order matters:
1. keycap digits ("1️⃣") and circled numbers are list markers, never prices: they go first,
   before NFKC would turn them into plain digits;
2. a 🎯 (or 🛑/⛔) in front of a number is a TP (SL) label, so it becomes the word;
3. NFKC folds stylised letters (𝐗𝐀𝐔𝐔𝐒𝐃, 𝙂𝙊𝙇𝘿), superscripts (TP¹), full-width forms;
4. dashes, tildes and quotes are unified; markdown markers and every other symbol (emoji,
   bullets, arrows, flags) become spaces; runs of spaces collapse (the lexer skips blank lines).

Multi-word phrases ("stop loss", "S/L", "buy limit") are the lexer's business (it reads them
as one token), so this module stays a handful of C-speed passes.
"""

from __future__ import annotations

import re
import unicodedata

# Keycaps: digit/#/* + optional VS16 + COMBINING ENCLOSING KEYCAP; circled/parenthesised/
# full-stop numbers (①, ⑴, ⒈, ❶, ➀).
_KEYCAPS = re.compile("[0-9#*]\ufe0f?\u20e3")
_CIRCLED = re.compile("[\u2460-\u24ff\u2776-\u2793\u3251-\u325f\u32b1-\u32bf]")
_TARGET_EMOJI = re.compile("\U0001f3af\ufe0f?(?=[\\s:.\\-]*[+\\d])")  # 🎯 2055
_STOP_EMOJI = re.compile("[\U0001f6d1\u26d4]\ufe0f?(?=[\\s:.\\-]*\\d)")  # 🛑 2045 / ⛔ 2045

_UNIFY = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d\u2e3a\u2e3b", "-"),
    **dict.fromkeys("\u301c\u223c\u02dc\u2053", "~"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    "\u00d7": "x",
    "\u2044": "/",
}
_TRANSLATE = str.maketrans(_UNIFY)
_UNIFIABLE = re.compile("[" + "".join(_UNIFY) + "]")

# Punctuation we read; every other symbol (emoji, bullets, arrows, flags, markdown "*", "_", "`")
# becomes a space. ASCII posts take the translate-table path (a C fast path), others a regex.
_KEEP = ".,:;/@~|()&%+#$'\"=!?-"
_ASCII_DROP = str.maketrans({chr(c): " " for c in range(128)
                             if not (chr(c).isalnum() or chr(c).isspace() or chr(c) in _KEEP)})
_DROP = re.compile(r"""[^\w\s.,:;/@~|()&%+#$'"=!?\-]|_""")
# A broker suffix after a dot ("XAUUSD.m", "EURUSD.pro") is not the end of a sentence.
_BROKER_SUFFIX = re.compile(r"\b([a-z]{6}|[a-z]{2,3}\d{2,3})\.(?:m|pro|ecn|raw|i|c|a|b|x|r|e|f|z|fx|std|"
                            r"micro|mini|cash|stp|vip|plus|prime)\b")
_LETTER_DOT_LETTER = re.compile(r"[a-z0-9]\.[a-z]")
# Runs of spaces and odd whitespace become one space (newlines stay: lines matter).
_SPACES = re.compile(r"[^\S\n]{2,}|[\t\r\f\v]")


def normalize(text: str) -> str:
    """The post as the lexer reads it: plain lower-case text, one space between words,
    lines kept."""
    if not text.isascii():
        if "\u20e3" in text:
            text = _KEYCAPS.sub(" ", text)
        text = _CIRCLED.sub(" ", text)
        if "\U0001f3af" in text:
            text = _TARGET_EMOJI.sub(" tp ", text)
        if "\U0001f6d1" in text or "\u26d4" in text:
            text = _STOP_EMOJI.sub(" sl ", text)
        text = unicodedata.normalize("NFKC", text)
        if _UNIFIABLE.search(text):
            text = text.translate(_TRANSLATE)
    text = text.lower()
    text = text.translate(_ASCII_DROP) if text.isascii() else _DROP.sub(" ", text)
    text = _SPACES.sub(" ", text)
    if "&" in text:
        text = text.replace("s&p", "sp")
    if "." in text and _LETTER_DOT_LETTER.search(text):
        text = _BROKER_SUFFIX.sub(r"\1", text)
    return text.strip()
