"""The slow-path worker as Lambda runs it (template function, SQS event records from the real
queue): idempotent under redelivery, partial batch failures, settling on the last delivery."""

from __future__ import annotations

import io
import json
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "signals"))
import signal_texts as sp
from fake_openai import FakeOpenAI
from signalos.common.clock import utc_now
from signalos.signals import data, llm, service, worker

from infra.local.events import sqs_record

LLM_FEATURES = frozenset({"signal_parsing", "advanced_strategies"})
SELL_1950 = sp.UNSURE_AS_LLM_READS_IT


@pytest.fixture
def env(aws_module, monkeypatch):
    dispatched = []

    class Summary:
        failed = 0

    def hook(event):
        dispatched.append(event)
        return Summary()

    from signalos.trading import fanout

    monkeypatch.setattr(fanout, "dispatch_signal", hook)  # what the worker hands to fan-out
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    fake = FakeOpenAI()
    monkeypatch.setattr(llm, "http_client_override", fake.client())
    drain_jobs(aws_module)  # start every test with an empty queue
    return {"aws": aws_module, "dispatched": dispatched, "fake": fake, "summary": Summary}


def drain_jobs(aws) -> list[dict]:
    sqs, out = aws.client("sqs"), []
    url = aws.ref("SignalJobsQueue")
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages"
    ):
        for m in msgs:
            out.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def run(aws, *messages, receive_count=1):
    records = []
    for m in messages:
        m = {**m, "Attributes": {**m.get("Attributes", {}), "ApproximateReceiveCount": str(receive_count)}}
        records.append(sqs_record(m, queue_arn=aws.attr("SignalJobsQueue", "Arn")))
    return aws.invoke("SignalWorkerFunction", {"Records": records})


def telegram_unsure(user_id=None):
    return service.ingest_text(
        user_id=user_id or f"u_{uuid.uuid4().hex[:8]}",
        provider_id=None,
        text=sp.UNSURE,
        source="telegram",
        source_ref={"chat_id": -1001, "message_id": 7},
        signal_time=None,
        received_at=utc_now(),
        features=LLM_FEATURES,
    )


def test_redelivered_job_does_nothing_the_second_time(env):
    env["fake"].reply_results([SELL_1950])
    rec = telegram_unsure()
    assert rec.status == "queued" and rec.auto_dispatch
    [job] = drain_jobs(env["aws"])
    assert json.loads(job["Body"]) == {
        "signal_id": rec.signal_id,
        "user_id": rec.user_id,
        "kind": "llm",
        "revision": 0,
        "llm_allowed": True,
    }
    assert run(env["aws"], job) == {"batchItemFailures": []}
    done = data.get_signal(rec.user_id, rec.signal_id)
    assert done.status == "parsed" and done.parser == "llm" and done.dispatched_revision == 0
    [event] = env["dispatched"]
    assert event.signal_id == rec.signal_id and event.chat_id == -1001 and event.parse.parser == "llm"
    assert run(env["aws"], job) == {"batchItemFailures": []}  # SQS delivers at least once
    assert data.get_signal(rec.user_id, rec.signal_id) == done
    assert len(env["dispatched"]) == 1 and len(env["fake"].requests) == 1


def test_job_for_a_superseded_revision_leaves_the_new_one_alone(env):
    rec = telegram_unsure()
    [old_job] = drain_jobs(env["aws"])
    edited = service.ingest_text(
        user_id=rec.user_id,
        provider_id=None,
        text=sp.GOLD,
        source="telegram",
        source_ref={},
        signal_time=None,
        received_at=utc_now(),
        edit_of_signal_id=rec.signal_id,
        features=LLM_FEATURES,
    )
    assert edited.revision == 1 and edited.status == "parsed"
    run(env["aws"], old_job)
    assert data.get_signal(rec.user_id, rec.signal_id) == edited
    assert env["fake"].requests == [] and env["dispatched"] == []


def test_a_bad_message_fails_alone(env):
    env["fake"].reply_results([SELL_1950])
    rec = telegram_unsure()
    [good] = drain_jobs(env["aws"])
    bad = {**good, "MessageId": str(uuid.uuid4()), "Body": '{"signal_id": 1}'}
    result = run(env["aws"], good, bad)
    assert result == {"batchItemFailures": [{"itemIdentifier": bad["MessageId"]}]}
    assert data.get_signal(rec.user_id, rec.signal_id).status == "parsed"


def test_failed_fanout_is_retried_and_marked_only_when_it_went_out(env):
    env["fake"].reply_results([SELL_1950])
    rec = telegram_unsure()
    [job] = drain_jobs(env["aws"])
    env["summary"].failed = 1
    assert run(env["aws"], job) == {"batchItemFailures": [{"itemIdentifier": job["MessageId"]}]}
    stored = data.get_signal(rec.user_id, rec.signal_id)
    assert stored.status == "parsed" and stored.dispatched_revision is None
    env["summary"].failed = 0
    assert run(env["aws"], job, receive_count=2) == {"batchItemFailures": []}
    assert data.get_signal(rec.user_id, rec.signal_id).dispatched_revision == 0
    assert len(env["dispatched"]) == 2 and env["fake"].requests and len(env["fake"].requests) == 1


def test_ocr_outage_is_retried_then_settled_before_the_dlq(env, monkeypatch):
    from PIL import Image
    from signalos.signals import ocr

    buf = io.BytesIO()
    Image.new("RGB", (200, 60), "white").save(buf, "PNG")
    rec = service.ingest_image(
        user_id=f"u_{uuid.uuid4().hex[:8]}",
        provider_id=None,
        image_bytes=buf.getvalue(),
        source="upload",
        features=frozenset(),
    )
    [job] = drain_jobs(env["aws"])

    def down(_):
        raise ocr.OcrUnavailable("tesseract is not installed")

    monkeypatch.setattr(ocr, "image_to_text", down)
    assert run(env["aws"], job, receive_count=1)["batchItemFailures"]
    assert data.get_signal(rec.user_id, rec.signal_id).status == "queued"
    assert run(env["aws"], job, receive_count=worker.GIVE_UP_AT_RECEIVE) == {"batchItemFailures": []}
    settled = data.get_signal(rec.user_id, rec.signal_id)
    assert settled.status == "failed" and settled.reason == "slow path failed repeatedly"


def test_blank_image_fails_with_a_reason(env):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (300, 80), "white").save(buf, "PNG")
    rec = service.ingest_image(
        user_id=f"u_{uuid.uuid4().hex[:8]}",
        provider_id=None,
        image_bytes=buf.getvalue(),
        source="telegram",
        features=frozenset(),
    )
    [job] = drain_jobs(env["aws"])
    run(env["aws"], job)
    done = data.get_signal(rec.user_id, rec.signal_id)
    assert done.status == "failed" and done.reason == "no text found in the image" and env["dispatched"] == []


def test_without_a_key_the_worker_settles_on_the_rules_reading(env, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    rec = service.ingest_text(
        user_id=f"u_{uuid.uuid4().hex[:8]}",
        provider_id=None,
        text="XAUUSD BUY 1950 SL 1960 TP 1940",
        source="api",
        source_ref={},
        signal_time=None,
        received_at=utc_now(),
        features=LLM_FEATURES,
    )
    assert rec.status == "queued"  # queuing needs no key; the worker has it, or decides without
    [job] = drain_jobs(env["aws"])
    run(env["aws"], job)
    done = data.get_signal(rec.user_id, rec.signal_id)
    assert done.status == "parsed" and done.parser == "rules" and done.confidence < 0.6
    assert "LLM unavailable: no OpenAI key configured" in done.warnings and env["fake"].requests == []
    assert env["dispatched"] == []  # an API signal without auto_execute is not handed to fan-out
