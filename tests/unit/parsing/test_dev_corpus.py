"""The rules parser against the labelled development corpus, compared as the contract scores it
(shared/signal-format.md "Scoring"): >= 98% of messages exactly right and no false opens."""

from __future__ import annotations

import json
import math
from pathlib import Path

from signalos.signals.parser import parse_message

# The team's shared corpus when it is mounted, else the copy kept next to this test.
SHARED = Path("/work/shared/corpus/signals-dev.jsonl")
CORPUS = SHARED if SHARED.exists() else Path(__file__).with_name("data") / "signals-dev.jsonl"


def _num_eq(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == b or math.isclose(a, b, rel_tol=1e-9)


def _list_eq(a, b) -> bool:
    return isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(map(_num_eq, a, b))


def _entry_ok(label: dict, got: dict) -> bool:
    if label.get("entry_zone") is not None:
        return _list_eq(got.get("entry_zone"), label["entry_zone"])
    if label.get("entry") is not None:
        zone = got.get("entry_zone") or []
        return _num_eq(got.get("entry"), label["entry"]) or any(_num_eq(z, label["entry"]) for z in zone)
    return got.get("entry") is None and got.get("entry_zone") is None


def _item_ok(label: dict, got: dict) -> bool:
    if got.get("kind") != label["kind"]:
        return False
    if label["kind"] == "open":
        return (
            got["symbol"] == label["symbol"]
            and got["side"] == label["side"]
            and _entry_ok(label, got)
            and _num_eq(got.get("stop_loss"), label.get("stop_loss"))
            and _list_eq(got.get("take_profits") or [], label.get("take_profits") or [])
            and ("order_type" not in label or got.get("order_type") == label["order_type"])
        )
    return got.get("action") == label["action"] and all(
        _num_eq(got.get(k), label[k]) for k in ("price", "fraction") if k in label
    )


def score(rows: list[dict]) -> tuple[int, int, list[str]]:
    exact = false_opens = 0
    wrong = []
    for row in rows:
        got = json.loads(json.dumps(parse_message(row["text"]).contract_json()))
        label = row["expected"]
        if len(got) == len(label) and all(_item_ok(lab, g) for lab, g in zip(label, got, strict=True)):
            exact += 1
        else:
            wrong.append(row["id"])
        false_opens += sum(
            1
            for i, g in enumerate(got)
            if g["kind"] == "open" and (i >= len(label) or label[i]["kind"] != "open")
        )
    return exact, false_opens, wrong


def test_dev_corpus_is_parsed_exactly_with_no_false_opens():
    rows = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]
    exact, false_opens, wrong = score(rows)
    assert false_opens == 0
    assert exact / len(rows) >= 0.98, wrong


def test_scoring_helper_catches_a_wrong_parse():
    # The helper itself must be able to fail: a label the parser cannot meet is not exact.
    rows = [
        {
            "id": "x",
            "text": "XAUUSD BUY 2050 SL 2045 TP 2060",
            "expected": [
                {
                    "kind": "open",
                    "symbol": "XAUUSD",
                    "side": "sell",
                    "entry": 2050,
                    "entry_zone": None,
                    "stop_loss": 2045,
                    "take_profits": [2060],
                }
            ],
        },
        {"id": "y", "text": "EURUSD BUY NOW", "expected": []},
    ]
    exact, false_opens, wrong = score(rows)
    assert (exact, false_opens, wrong) == (0, 1, ["x", "y"])


DECORATIONS = {
    "upper case": str.upper,
    "lower case": str.lower,
    "markdown bold lines": lambda t: "\n".join(
        f"**{line}**" if line.strip() else line for line in t.split("\n")
    ),
    "emoji at line ends": lambda t: "\n".join(
        f"{line} 🔥" if line.strip() else line for line in t.split("\n")
    ),
    "blank lines doubled": lambda t: t.replace("\n", "\n\n"),
    "windows line ends": lambda t: t.replace("\n", "\r\n"),
    "a megaphone first": lambda t: "📢 " + t,
}


def _core(text: str) -> list[dict]:
    return [
        {k: v for k, v in item.items() if k not in ("confidence", "warnings")}
        for item in parse_message(text).contract_json()
    ]


def test_decoration_never_changes_what_a_post_means():
    # Case, markdown, emoji and blank lines are how channels dress the same signal.
    rows = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]
    changed = [
        (name, row["id"])
        for name, dress in DECORATIONS.items()
        for row in rows
        if _core(dress(row["text"])) != _core(row["text"])
    ]
    assert changed == []
