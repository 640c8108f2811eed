"""Signal records, their DynamoDB items and events, and the day counters (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from signalos.contracts.parse_result import OpenSetup, ParseResult, SignalUpdate
from signalos.signals import stats
from signalos.signals.records import Provider, SignalRecord

T0 = datetime(2026, 11, 22, 10, 30, 0, 123000, tzinfo=UTC)


def record(**kw) -> SignalRecord:
    base = dict(
        signal_id="sig_01",
        user_id="u1",
        provider_id="p1",
        source="telegram",
        source_ref={"chat_id": -100123, "message_id": 42},
        text="XAUUSD buy",
        status="parsed",
        parser="rules",
        signal_time=T0 - timedelta(seconds=2),
        received_at=T0,
        parsed_at=T0 + timedelta(milliseconds=3),
        parse_ms=0.2,
        confidence=0.95,
        parse=ParseResult(
            results=[
                OpenSetup(symbol="XAUUSD", side="buy", stop_loss=1940.0, take_profits=[1955.0]),
                SignalUpdate(action="breakeven", symbol="EURUSD"),
            ],
            confidence=0.95,
        ),
    )
    base.update(kw)
    return SignalRecord(**base)


def test_item_roundtrip_keeps_everything_and_indexes_provider_and_time():
    rec = record()
    item = rec.to_item()
    assert (item["pk"], item["sk"]) == ("USER#u1", "SIGNAL#sig_01")
    assert item["gsi1pk"] == "USER#u1#PROVIDER#p1" and item["gsi1sk"] == "2026-11-22T10:29:58.123Z#sig_01"
    assert item["gsi2pk"] == "USER#u1#SIGNALS" and item["gsi2sk"].startswith("2026-11-22T10:29:58.123Z")
    assert item["symbols"] == ["XAUUSD", "EURUSD"]
    assert SignalRecord.from_item(item) == rec


def test_signal_without_provider_is_not_on_the_provider_index():
    item = record(provider_id=None).to_item()
    assert "gsi1pk" not in item and item["gsi2pk"] == "USER#u1#SIGNALS"


def test_event_carries_threading_and_telegram_ids():
    event = record(revision=2, reply_to_signal_id="sig_00").to_event()
    assert (event.signal_id, event.revision, event.reply_to_signal_id) == ("sig_01", 2, "sig_00")
    assert (event.chat_id, event.message_id, event.provider_id) == (-100123, 42, "p1")
    assert event.parse.opens[0].symbol == "XAUUSD"


def test_event_needs_a_parse():
    with pytest.raises(ValueError):
        record(status="queued", parse=None, parsed_at=None).to_event()


def test_needs_dispatch_only_for_parsed_results_not_yet_dispatched_at_this_revision():
    assert record(auto_dispatch=True).needs_dispatch
    assert not record(auto_dispatch=False).needs_dispatch
    assert not record(auto_dispatch=True, dispatched_revision=0).needs_dispatch
    assert record(auto_dispatch=True, dispatched_revision=0, revision=1).needs_dispatch
    assert not record(auto_dispatch=True, parse=ParseResult(), status="ignored").needs_dispatch


def test_public_provider_is_listed_on_the_public_index():
    now = T0
    private = Provider(provider_id="p1", user_id="u1", name="Gold VIP", created_at=now, updated_at=now)
    public = private.model_copy(update={"visibility": "public"})
    assert "gsi1pk" not in private.to_item()
    assert public.to_item()["gsi1pk"] == "PROVIDERS#PUBLIC"
    assert Provider.from_item(public.to_item()) == public


# --- counters -------------------------------------------------------------------------------------
def test_new_parsed_signal_counts_once_with_parser_band_and_latency():
    add = stats.counters_for(None, record())
    assert add["received"] == 1 and add["src_telegram"] == 1 and add["out_parsed"] == 1
    assert add["parser_rules"] == 1 and add["band_high"] == 1
    assert add["lat_n"] == 1 and add["lat_le_5"] == 1 and add["lat_sum_ms"] == pytest.approx(3.0)


def test_queued_then_finished_counts_received_once_and_outcome_once():
    queued = record(status="queued", parsed_at=None, parser=None)
    first = stats.counters_for(None, queued)
    assert first == {"received": 1, "src_telegram": 1, "queued": 1}
    done = record(parser="llm", confidence=0.7, parsed_at=T0 + timedelta(seconds=3))
    second = stats.counters_for(queued, done)
    assert second["out_parsed"] == 1 and second["parser_llm"] == 1 and second["band_medium"] == 1
    assert "received" not in second and second["lat_le_10000"] == 1
    assert stats.counters_for(done, done.model_copy(update={"dispatched_revision": 0})) == {}


def test_edits_count_as_edits_not_new_outcomes():
    before = record()
    after = record(revision=1)
    assert stats.counters_for(before, after) == {"edits": 1}


def test_summary_sums_days_into_shares_and_histogram():
    days = [
        {
            "sk": "STATS#2026-11-21",
            "received": 3,
            "out_parsed": 2,
            "out_ignored": 1,
            "parser_rules": 2,
            "band_high": 2,
            "lat_n": 3,
            "lat_sum_ms": 6.0,
            "parse_ms_sum": 0.6,
            "lat_le_5": 3,
            "src_api": 3,
        },
        {
            "sk": "STATS#2026-11-22",
            "received": 2,
            "queued": 1,
            "out_parsed": 1,
            "parser_llm": 1,
            "band_medium": 1,
            "lat_n": 1,
            "lat_sum_ms": 2000.0,
            "parse_ms_sum": 900.0,
            "lat_le_2000": 1,
            "src_telegram": 2,
        },
    ]
    out = stats.summarize(days)
    assert out["received"] == 5 and out["pending"] == 1 and out["queued_for_slow_path"] == 1
    assert out["by_outcome"] == {"parsed": 3, "ignored": 1, "failed": 0}
    assert out["by_parser"]["rules"] == 2 and out["by_parser"]["llm"] == 1
    assert out["success_rate"] == 0.75
    assert out["latency"]["avg_ms"] == 501.5
    hist = {h["le_ms"]: h["count"] for h in out["latency"]["histogram"]}
    assert hist[5] == 3 and hist[2000] == 1 and hist[None] == 0
    assert [d["date"] for d in out["days"]] == ["2026-11-21", "2026-11-22"]


def _emf_lines(text: str) -> list[dict]:
    import json

    return [json.loads(line) for line in text.splitlines() if '"_aws"' in line]


def test_a_signal_reaching_an_outcome_is_one_cloudwatch_metric_by_parser_and_outcome(capsys):
    from signalos.signals.data import _report_outcome

    queued = record(status="queued", parser=None, parsed_at=None)
    _report_outcome(None, queued)  # not an outcome yet
    assert _emf_lines(capsys.readouterr().out) == []

    parsed = record(status="parsed", parser="llm")
    _report_outcome(queued, parsed)
    metrics = _emf_lines(capsys.readouterr().out)
    by_name = {m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]: m for m in metrics}
    assert by_name["SignalsParsed"]["parser"] == "llm" and by_name["SignalsParsed"]["outcome"] == "parsed"
    assert by_name["SignalDecisionLatency"]["SignalDecisionLatency"] == [pytest.approx(3.0)]

    _report_outcome(parsed, parsed.model_copy(update={"revision": 1}))  # an edit, same outcome
    assert _emf_lines(capsys.readouterr().out) == []
