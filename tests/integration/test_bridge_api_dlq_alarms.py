"""Every account's order DLQ has a CloudWatch alarm to the stack's alarm topic, made and removed
with its queues; a CloudWatch failure never loses the account and is retried later.

Against the embedded AWS (moto's CloudWatch). A CloudWatch outage is injected at botocore's
`before-call` hook of the bridge API's own client, answering as AWS does (HTTP 400, a Throttling
error body), so everything above the wire is the real code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from signalos.bridge_api import aws as bridge_aws
from signalos.common.dynamo import Table
from signalos.common.ids import new_id
from support.users import create_profile, user_headers

B = "/api/v1/bridge"
U = SimpleNamespace(a="")


@pytest.fixture
def aws(aws_module):
    """One embedded AWS per module: each test works as its own fresh user."""
    return aws_module


@pytest.fixture(autouse=True)
def fresh_user(aws_module):
    U.a = new_id("usr")
    create_profile(U.a)


def register(call_api, name="Main") -> dict:
    status, _, body = call_api("POST", f"{B}/register", json={"name": name, "kind": "demo"},
                               headers=user_headers(U.a))
    assert status == 201, body
    return body


def bridge(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def alarm_name(aws, account_id: str) -> str:
    return f"signalos-{aws.env['STAGE']}-orders-{account_id}-dlq"


def alarms(aws, account_id: str) -> list[dict]:
    return aws.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name(aws, account_id)])["MetricAlarms"]


def account_item(account_id: str) -> dict:
    return Table.from_env("TRADING_TABLE").get(f"USER#{U.a}", f"ACCOUNT#{account_id}")


def audit_events(account_id: str) -> list[dict]:
    from signalos.common import audit

    events, _ = audit.list_for_user(U.a)
    return [e for e in events if (e.get("details") or {}).get("account_id") == account_id]


@contextmanager
def cloudwatch_calls(fail: set[str] | frozenset[str] = frozenset()) -> Iterator[list[str]]:
    """Record the bridge API's CloudWatch calls; those named in `fail` get AWS's throttling error."""
    client = bridge_aws._cloudwatch()
    seen: list[str] = []

    def hook(model, **_kwargs):
        seen.append(model.name)
        if model.name in fail:
            error = {"Error": {"Code": "Throttling", "Message": "Rate exceeded", "Type": "Sender"},
                     "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "req-throttled"}}
            return SimpleNamespace(status_code=400, headers={}), error
        return None

    client.meta.events.register("before-call.cloudwatch.*", hook, unique_id="dlq-alarm-test")
    try:
        yield seen
    finally:
        client.meta.events.unregister("before-call.cloudwatch.*", unique_id="dlq-alarm-test")


def test_register_alarms_on_the_dlq_to_the_alarm_topic(aws, call_api):
    with cloudwatch_calls() as calls:
        body = register(call_api)
    aid = body["account_id"]
    assert calls == ["PutMetricAlarm"]
    (alarm,) = alarms(aws, aid)
    prefix = aws.env["ORDER_QUEUE_PREFIX"]
    assert alarm["AlarmName"] == f"{prefix}{aid}-dlq" == alarm_name(aws, aid)
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": f"{prefix}{aid}-dlq.fifo"}]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Maximum", 1.0, "GreaterThanOrEqualToThreshold")
    assert alarm["EvaluationPeriods"] == 1 and alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [aws.ref("AlarmTopic")]
    # the alarm watches the account's real DLQ
    dlq_url = account_item(aid)["dlq_url"]
    assert dlq_url.endswith("/" + alarm["Dimensions"][0]["Value"])
    assert account_item(aid)["dlq_alarm"] == alarm["AlarmName"]
    registered = [e for e in audit_events(aid) if e["event"] == "bridge_account_registered"]
    assert registered[0]["details"]["dlq_alarm"] == alarm["AlarmName"]


def test_each_account_gets_its_own_alarm(aws, call_api):
    first = register(call_api, "One")["account_id"]
    second = register(call_api, "Two")["account_id"]
    assert len(alarms(aws, first)) == 1 and len(alarms(aws, second)) == 1
    assert alarms(aws, first)[0]["Dimensions"] != alarms(aws, second)[0]["Dimensions"]
    call_api("DELETE", f"{B}/accounts/{first}", headers=user_headers(U.a))
    assert alarms(aws, first) == [] and len(alarms(aws, second)) == 1


def test_deleting_the_account_deletes_its_alarm(aws, call_api):
    aid = register(call_api)["account_id"]
    status, _, out = call_api("DELETE", f"{B}/accounts/{aid}", headers=user_headers(U.a))
    assert status == 200 and out["queue_deleted"] is True
    assert alarms(aws, aid) == []
    assert "dlq_alarm" not in account_item(aid)
    # idempotent: deleting again (alarm already gone) is fine
    assert call_api("DELETE", f"{B}/accounts/{aid}", headers=user_headers(U.a))[0] == 200


def test_a_cloudwatch_failure_at_registration_keeps_the_account(aws, call_api):
    with cloudwatch_calls(fail={"PutMetricAlarm"}) as calls:
        body = register(call_api)
    aid = body["account_id"]
    assert calls == ["PutMetricAlarm"]
    assert alarms(aws, aid) == []
    item = account_item(aid)
    assert item["status"] == "active" and "dlq_alarm" not in item
    sqs = aws.client("sqs")
    assert sqs.get_queue_attributes(QueueUrl=body["queue_url"], AttributeNames=["QueueArn"])
    assert sqs.get_queue_attributes(QueueUrl=item["dlq_url"], AttributeNames=["QueueArn"])
    (failed,) = [e for e in audit_events(aid) if e["event"] == "bridge_dlq_alarm_failed"]
    assert failed["outcome"] == "failure" and failed["details"]["error"] == "ClientError"
    # the bridge works meanwhile
    assert call_api("POST", f"{B}/session", headers=bridge(body["bridge_token"]))[0] == 200


def test_the_next_bridge_session_creates_the_missing_alarm_once(aws, call_api):
    with cloudwatch_calls(fail={"PutMetricAlarm"}):
        body = register(call_api)
    aid, token = body["account_id"], body["bridge_token"]
    with cloudwatch_calls(fail={"PutMetricAlarm"}) as calls:
        # CloudWatch still down: the session is issued all the same, the alarm still missing.
        assert call_api("POST", f"{B}/session", headers=bridge(token))[0] == 200
    assert calls == ["PutMetricAlarm"] and alarms(aws, aid) == []
    with cloudwatch_calls() as calls:
        assert call_api("POST", f"{B}/session", headers=bridge(token))[0] == 200
        assert call_api("POST", f"{B}/session", headers=bridge(token))[0] == 200
    assert calls == ["PutMetricAlarm"]  # once made, sessions no longer call CloudWatch
    assert len(alarms(aws, aid)) == 1
    assert account_item(aid)["dlq_alarm"] == alarm_name(aws, aid)
    events = [e["event"] for e in audit_events(aid)]
    assert events.count("bridge_dlq_alarm_failed") == 2 and events.count("bridge_dlq_alarm_created") == 1


@pytest.mark.parametrize("by", ["owner", "bridge", "pairing"])
def test_token_rotation_and_pairing_create_the_missing_alarm(aws, call_api, by):
    with cloudwatch_calls(fail={"PutMetricAlarm"}):
        body = register(call_api)
    aid, token = body["account_id"], body["bridge_token"]
    if by == "owner":
        status, _, out = call_api("POST", f"{B}/token/rotate", json={"account_id": aid},
                                  headers=user_headers(U.a))
    elif by == "bridge":
        status, _, out = call_api("POST", f"{B}/token/rotate", headers=bridge(token))
    else:
        _, _, code = call_api("POST", f"{B}/pairing-code", json={"account_id": aid},
                              headers=user_headers(U.a))
        status, _, out = call_api("POST", f"{B}/pair", json={"code": code["code"]})
    assert status == 200, out
    assert len(alarms(aws, aid)) == 1 and account_item(aid)["dlq_alarm"] == alarm_name(aws, aid)


def test_an_account_from_before_the_alarms_gets_one_at_its_next_session(aws, call_api):
    body = register(call_api)
    aid = body["account_id"]
    aws.client("cloudwatch").delete_alarms(AlarmNames=[alarm_name(aws, aid)])
    Table.from_env("TRADING_TABLE").update(f"USER#{U.a}", f"ACCOUNT#{aid}", remove=["dlq_alarm"])
    assert call_api("POST", f"{B}/session", headers=bridge(body["bridge_token"]))[0] == 200
    assert len(alarms(aws, aid)) == 1


def test_a_failed_alarm_deletion_is_audited_and_retried_by_deleting_again(aws, call_api):
    aid = register(call_api)["account_id"]
    with cloudwatch_calls(fail={"DeleteAlarms"}):
        status, _, out = call_api("DELETE", f"{B}/accounts/{aid}", headers=user_headers(U.a))
    assert status == 200 and out == {"account_id": aid, "status": "disabled", "queue_deleted": True}
    assert len(alarms(aws, aid)) == 1
    assert "bridge_dlq_alarm_delete_failed" in {e["event"] for e in audit_events(aid)}
    assert call_api("DELETE", f"{B}/accounts/{aid}", headers=user_headers(U.a))[0] == 200
    assert alarms(aws, aid) == []


def test_an_alarm_made_for_an_account_disabled_meanwhile_is_removed(aws, call_api, monkeypatch):
    from signalos.bridge_api import accounts, service

    with cloudwatch_calls(fail={"PutMetricAlarm"}):
        aid = register(call_api)["account_id"]
    stale = accounts.get_account(U.a, aid)  # read while active, as a session request would
    assert call_api("DELETE", f"{B}/accounts/{aid}", headers=user_headers(U.a))[0] == 200
    monkeypatch.setenv("ALARM_TOPIC_ARN", aws.ref("AlarmTopic"))
    assert service.ensure_dlq_alarm(stale).dlq_alarm is None
    assert alarms(aws, aid) == []
    assert account_item(aid)["status"] == "disabled" and "dlq_alarm" not in account_item(aid)


def test_registration_rolled_back_removes_the_alarm_with_the_queues(aws, call_api, monkeypatch):
    from signalos.bridge_api import service
    from signalos.common.dynamo import ConditionFailed, Table

    def lost_race(self, ops):
        raise ConditionFailed("another registration took the last slot")

    monkeypatch.setattr(Table, "transact_write", lost_race)
    made: list[str] = []
    real_put = bridge_aws.put_dlq_alarm
    monkeypatch.setattr(service.aws, "put_dlq_alarm", lambda aid: made.append(aid) or real_put(aid))
    status, _, body = call_api("POST", f"{B}/register", json={"name": "Main", "kind": "demo"},
                               headers=user_headers(U.a))
    assert status == 403, body
    (aid,) = made
    assert alarms(aws, aid) == []
    prefix = aws.env["ORDER_QUEUE_PREFIX"]
    names = [u.rsplit("/", 1)[-1] for u in aws.client("sqs").list_queues(QueueNamePrefix=prefix + aid)
             .get("QueueUrls", [])]
    assert names == []
