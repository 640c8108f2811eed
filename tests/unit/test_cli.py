"""`signalos parse`: the JSONL contract (one line out per line in, same order, errors per line)
and the readable form."""

from __future__ import annotations

import io
import json
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from signalos import cli
from signalos.contracts.parse_result import ParseResult
from signalos.signals.parser import parse_message

sys.path.insert(0, str(Path(__file__).resolve().parent / "signals"))
from fake_openai import FakeOpenAI


def run(monkeypatch, capsys, argv: list[str], stdin: bytes = b"") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_console_script_points_at_main():
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("signalos") == "signalos.cli:main"


def test_jsonl_one_line_out_per_line_in_same_order(monkeypatch, capsys):
    lines = [
        json.dumps(
            {"id": "a", "text": "XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955 TP2 1960", "note": "ignored"}
        ),
        "this is not json",
        json.dumps({"id": 7, "text": "Close half now 🚀"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "no-text"}),
        "",
        json.dumps({"id": "c", "text": "Good morning traders ☕"}),
    ]
    code, out, err = run(monkeypatch, capsys, ["parse", "--jsonl"], ("\n".join(lines) + "\n").encode())
    assert code == 0 and err == ""
    replies = [json.loads(line) for line in out.splitlines()]
    assert len(replies) == len(lines)
    assert replies[0] == {"id": "a", "results": parse_message(json.loads(lines[0])["text"]).contract_json()}
    assert replies[0]["results"][0]["entry_zone"] == [1948.0, 1950.0]
    assert replies[1]["id"] is None and "invalid JSON" in replies[1]["error"]
    assert replies[2] == {
        "id": 7,
        "results": [
            {
                "kind": "update",
                "action": "close_partial",
                "price": None,
                "fraction": 0.5,
                "symbol": None,
                "confidence": 0.9,
                "warnings": [],
            }
        ],
    }
    assert replies[3]["id"] is None and "error" in replies[3]
    assert replies[4] == {"id": "no-text", "error": 'missing "text" (a string)'}
    assert replies[5]["id"] is None and "error" in replies[5]
    assert replies[6] == {"id": "c", "results": []}


def test_jsonl_survives_bad_bytes_and_windows_line_ends(monkeypatch, capsys):
    data = b'{"id": "w", "text": "EURUSD SELL NOW"}\r\n\xff\xfe garbage\n{"id": "z", "text": "Sell EURUSD"}'
    code, out, _ = run(monkeypatch, capsys, ["parse", "--jsonl"], data)
    replies = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["id"] for r in replies] == ["w", None, "z"]
    assert replies[0]["results"][0]["symbol"] == "EURUSD" and "error" in replies[1]


def test_jsonl_with_text_argument_is_a_usage_error(monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, ["parse", "--jsonl", "Buy gold"])
    assert code == 2 and out == "" and "--jsonl reads stdin" in err


def test_readable_output(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, ["parse", "XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955 TP2 1960"])
    assert code == 0
    assert out.strip() == "OPEN   XAUUSD BUY market  zone 1948-1950  SL 1940  TP 1955, 1960  confidence 1.00"
    _, out, _ = run(monkeypatch, capsys, ["parse", "EURUSD BUY 1.0850 SL 1.0800 TP 5387"])
    assert "warning: price 5387 is implausible for EURUSD" in out
    _, out, _ = run(monkeypatch, capsys, ["parse", "TP1 hit +40 pips ✅"])
    assert out.startswith("nothing actionable")


def test_text_from_stdin_and_json_output(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, ["parse", "--json"], b"Move SL to 2050\n")
    result = ParseResult.model_validate_json(out)
    assert code == 0 and result.results[0].action == "move_sl" and result.results[0].price == 2050.0


def test_provider_rules_file(monkeypatch, capsys, tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"symbol_aliases": {"YELLOW": "XAUUSD"}, "default_sl_pips": 30}))
    code, out, _ = run(
        monkeypatch,
        capsys,
        ["parse", "--rules", str(rules), "--jsonl"],
        b'{"id": 1, "text": "YELLOW BUY NOW"}\n',
    )
    item = json.loads(out)["results"][0]
    assert code == 0 and (item["symbol"], item["sl_pips"]) == ("XAUUSD", 30.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read rules file"),
        ("{nope", "is not JSON"),
        ('{"ignore_patterns": ["(a+)+"]}', "nested"),
    ],
)
def test_bad_rules_file_is_a_clear_error(monkeypatch, capsys, tmp_path, content, message):
    path = tmp_path / "rules.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run(monkeypatch, capsys, ["parse", "--rules", str(path), "Buy gold now"])
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["frobnicate"])
    assert exc.value.code == 2


def test_llm_without_a_key_says_so_and_keeps_rules(monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_SECRET_ARN", raising=False)
    code, out, err = run(
        monkeypatch, capsys, ["parse", "--llm", "--jsonl"], b'{"id": 1, "text": "Sell EURUSD"}\n'
    )
    assert code == 0 and "rules parser only" in err
    assert json.loads(out)["results"][0]["symbol"] == "EURUSD"


def test_llm_answers_only_what_the_rules_were_unsure_about(monkeypatch, capsys):
    from signalos.signals import llm

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.setenv("LLM_CONFIDENCE_THRESHOLD", "0.6")
    fake = FakeOpenAI().reply_results(
        [
            {
                "kind": "open",
                "symbol": "XAUUSD",
                "side": "buy",
                "order_type": "market",
                "entry": 2050,
                "entry_zone": None,
                "stop_loss": 2045,
                "take_profits": [2060],
                "sl_pips": None,
                "tp_pips": [],
                "confidence": 0.95,
            }
        ]
    )
    monkeypatch.setattr(llm, "http_client_override", fake.client())
    stdin = (
        json.dumps({"id": "sure", "text": "GOLD BUY 2050 SL 2045 TP 2060"})
        + "\n"
        + json.dumps({"id": "unsure", "text": "BUY NOW 2050\nSL 2045\nTP 2060 (gold)"})
        + "\n"
    ).encode()
    code, out, err = run(monkeypatch, capsys, ["parse", "--llm", "--jsonl"], stdin)
    replies = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert code == 0 and err == ""
    assert len(fake.requests) == 1  # the confident post never went to the model
    assert replies["unsure"]["results"][0]["symbol"] == "XAUUSD"
    assert replies["unsure"]["results"][0]["confidence"] <= llm.LLM_CONFIDENCE_CAP


def test_llm_answer_that_fails_the_checks_is_refused(monkeypatch, capsys):
    from signalos.signals import llm

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    fake = FakeOpenAI().reply_results(
        [
            {  # a stop loss above the entry of a buy: refused
                "kind": "open",
                "symbol": "XAUUSD",
                "side": "buy",
                "order_type": "market",
                "entry": 2050,
                "entry_zone": None,
                "stop_loss": 2060,
                "take_profits": [2045],
                "sl_pips": None,
                "tp_pips": [],
                "confidence": 0.95,
            }
        ]
    )
    monkeypatch.setattr(llm, "http_client_override", fake.client())
    code, out, err = run(
        monkeypatch,
        capsys,
        ["parse", "--llm", "--jsonl"],
        b'{"id": 1, "text": "BUY NOW 2050 SL 2060 TP 2045"}\n',
    )
    assert code == 0 and "rejected" in err
    assert json.loads(out) == {"id": 1, "results": []}
