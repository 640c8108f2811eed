"""signals.service as the webhook, the API and the worker call it, on the embedded AWS: edits,
licences read from the user's record, provider rules, and what happens when parts fail."""

from __future__ import annotations

import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "signals"))
import signal_texts as sp
from signalos.common.clock import utc_now
from signalos.common.errors import BadRequest
from signalos.signals import data, service

ALL = frozenset({"signal_parsing", "advanced_strategies", "auto_trading"})


@pytest.fixture
def uid(aws_module):
    return f"u_{uuid.uuid4().hex[:10]}"


def ingest(uid, text, **kw):
    args = dict(
        user_id=uid,
        provider_id=None,
        text=text,
        source="telegram",
        source_ref={"chat_id": -5},
        signal_time=None,
        received_at=utc_now(),
        features=frozenset({"signal_parsing"}),
    )
    args.update(kw)
    return service.ingest_text(**args)


def day_counters(uid):
    return data.stats_days(uid, "2000-01-01", "2999-12-31")


def test_edit_reparses_in_place_and_keeps_the_earlier_text(uid):
    first = ingest(uid, "XAUUSD SELL NOW")
    assert first.status == "parsed" and first.parse.opens[0].stop_loss is None
    edited = ingest(
        uid, "XAUUSD SELL NOW\n4459.50 - 4464.50\nTP1 4456.50\nSL 4467", edit_of_signal_id=first.signal_id
    )
    assert (edited.signal_id, edited.revision) == (first.signal_id, 1)
    assert edited.parse.opens[0].stop_loss == 4467.0 and edited.parse.opens[0].entry_zone == (4459.5, 4464.5)
    assert [p.text for p in edited.previous] == ["XAUUSD SELL NOW"]
    assert data.get_signal(uid, first.signal_id) == edited
    assert ingest(uid, edited.text, edit_of_signal_id=first.signal_id) == edited  # same text: nothing to do
    [day] = day_counters(uid)
    assert (day["received"], day["out_parsed"], day["edits"]) == (1, 1, 1)


def test_edit_of_an_unknown_signal_is_stored_as_new(uid):
    rec = ingest(uid, sp.GOLD, edit_of_signal_id="sig_unknown")
    assert rec.signal_id != "sig_unknown" and rec.revision == 0
    assert "edit of an unknown signal: stored as new" in rec.warnings


def test_low_confidence_result_without_llm_is_kept_with_its_warnings(uid):
    rec = ingest(uid, "XAUUSD BUY 1950 SL 1960 TP 1940")  # SL and TP on the wrong sides of a buy
    assert rec.status == "parsed" and rec.confidence < 0.6
    assert (
        any("wrong side" in w for w in rec.warnings)
        and "low confidence: LLM fallback not licensed" in rec.warnings
    )


def test_webhook_calls_read_the_llm_licence_from_the_users_record(aws_module, call_api, monkeypatch):
    from signalos.signals import llm

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    name = f"svc_{uuid.uuid4().hex[:8]}"
    status, _, body = call_api(
        "POST", "/api/v1/auth/register", json={"username": name, "password": "pw-long-enough-1"}
    )
    assert status == 201
    user_id = body["user"]["id"] if "user" in body else body["id"]
    assert "advanced_strategies" in service.user_features(user_id)  # trial tier
    rec = ingest(user_id, sp.UNSURE, features=None)
    assert rec.status == "queued" and rec.slow_path == "llm"
    assert service.user_features("usr_nobody") == frozenset()
    nobody = ingest("usr_nobody", sp.UNSURE, features=None)
    assert nobody.status == "failed" and "low confidence: LLM fallback not licensed" in nobody.warnings
    assert llm.is_configured()


def test_unreachable_queue_settles_the_signal_instead_of_leaving_it_queued(uid, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("SIGNAL_JOBS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/nope")
    rec = ingest(uid, "XAUUSD BUY 1950 SL 1960 TP 1940", features=ALL)
    assert rec.status == "parsed" and "slow path unavailable: rules result kept" in rec.warnings
    assert data.get_signal(uid, rec.signal_id) == rec
    [day] = day_counters(uid)
    assert (day["received"], day["queued"], day["out_parsed"]) == (1, 1, 1)


def test_pipeline_image_that_is_not_an_image_is_stored_as_failed(uid):
    rec = service.ingest_image(
        user_id=uid,
        provider_id=None,
        image_bytes=b"<html>not an image</html>",
        caption="XAUUSD chart",
        source="telegram",
    )
    assert rec.status == "failed" and rec.reason.startswith("bad image:") and rec.text == "XAUUSD chart"
    assert data.get_signal(uid, rec.signal_id) == rec


def test_an_image_key_must_be_the_users_own(uid):
    with pytest.raises(BadRequest):
        service.ingest_image(
            user_id=uid, provider_id=None, s3_key="uploads/someone-else/x.png", source="upload"
        )
    with pytest.raises(BadRequest):
        service.ingest_image(
            user_id=uid, provider_id=None, s3_key=f"uploads/{uid}/../other/x.png", source="upload"
        )


def test_text_over_the_limit_is_refused(uid):
    with pytest.raises(BadRequest) as err:
        ingest(uid, "x" * 9000)
    assert err.value.code == "TEXT_TOO_LONG"


def test_provider_rules_shape_the_parse(uid):
    provider = service.create_provider(
        uid,
        name="gold channel",
        rules={"symbol_aliases": {"YELLOW METAL": "XAUUSD"}, "ignore_patterns": ["^weekly recap"]},
    )
    rec = ingest(uid, sp.UNSURE, provider_id=provider.provider_id)
    assert rec.status == "parsed" and rec.parse.opens[0].symbol == "XAUUSD"
    recap = ingest(uid, "Weekly recap: XAUUSD BUY 1950 SL 1940 TP 1960 hit", provider_id=provider.provider_id)
    assert recap.status == "ignored" and "ignored by a provider rule" in recap.warnings


def test_unreadable_stored_rules_do_not_stop_a_signal(uid):
    provider = service.create_provider(uid, name="legacy")
    data.table().update(
        f"USER#{uid}", f"PROVIDER#{provider.provider_id}", set_values={"rules": {"no_such_rule": True}}
    )
    rec = ingest(uid, sp.GOLD, provider_id=provider.provider_id)
    assert rec.status == "parsed" and "provider rules could not be applied" in rec.warnings


def test_signal_time_never_after_receipt(uid):
    now = utc_now()
    rec = ingest(uid, sp.GOLD, signal_time=now + timedelta(hours=1), received_at=now)
    assert rec.signal_time == rec.received_at


def test_concurrent_writer_loses_instead_of_clobbering(uid):
    rec = ingest(uid, sp.GOLD)
    newer = rec.model_copy(update={"revision": 1, "text": sp.EURUSD})
    data.replace_signal(rec, newer)
    with pytest.raises(data.StaleRecord):
        data.replace_signal(rec, rec.model_copy(update={"reason": "late writer"}))
    assert data.get_signal(uid, rec.signal_id).text == sp.EURUSD


def test_provider_updates_keep_the_telegram_link_others_wrote(uid):
    from signalos.common.dynamo import Table

    provider = service.create_provider(uid, name="tg")
    Table.from_env("SIGNALS_TABLE").update(
        f"USER#{uid}",
        f"PROVIDER#{provider.provider_id}",
        set_values={
            "telegram": {"chat_id": -100555, "title": "Gold VIP", "linked_at": "2026-11-22T10:00:00.000Z"},
            "gsi2pk": "TGCHAT#-100555",
            "gsi2sk": f"USER#{uid}#PROVIDER#{provider.provider_id}",
        },
    )
    updated = service.update_provider(
        uid, provider.provider_id, {"name": "tg renamed", "rules": {"default_sl_pips": 20}}
    )
    assert updated.telegram.chat_id == -100555 and updated.version == 2
    item = Table.from_env("SIGNALS_TABLE").get(f"USER#{uid}", f"PROVIDER#{provider.provider_id}")
    assert item["gsi2pk"] == "TGCHAT#-100555" and item["name"] == "tg renamed"
