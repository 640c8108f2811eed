"""Bridge API, agent side, against the embedded AWS: STS session with a one-queue policy,
heartbeats (stored for the risk engine), execution reports applied through trading's real
apply function (idempotent), token errors and rate limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from signalos.bridge_api import accounts
from signalos.bridge_api import aws as bridge_aws
from signalos.common.dynamo import Table
from signalos.common.ids import new_id
from support.users import create_profile, user_headers

B = "/api/v1/bridge"


@pytest.fixture
def aws(aws_module):
    """One embedded AWS per module: each test works as its own fresh users (ids below)."""
    return aws_module


U = SimpleNamespace(a="", b="")


@pytest.fixture(autouse=True)
def fresh_users(aws_module):
    U.a, U.b = new_id("usr"), new_id("usr")
    for user_id in (U.a, U.b):
        create_profile(user_id)



SENT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)




def bridge(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(call_api, user_id=None, name="Main"):
    user_id = user_id or U.a
    status, _, body = call_api(
        "POST", f"{B}/register", json={"name": name, "kind": "paper"}, headers=user_headers(user_id)
    )
    assert status == 201, body
    return body


def gold_spec(**over):
    spec = {
        "symbol": "XAUUSD",
        "broker_symbol": "XAUUSD.pro",
        "digits": 2,
        "point": 0.01,
        "volume_min": 0.01,
        "volume_max": 50.0,
        "volume_step": 0.01,
        "trade_tick_value": 1.0,
        "trade_tick_size": 0.01,
        "trade_contract_size": 100.0,
        "spread": 25,
        "bid": 1949.75,
        "ask": 1950.0,
    }
    spec.update(over)
    return spec


def heartbeat_body(account_id, *, sent=SENT, balance=10_000.0, symbols=None, positions=None):
    return {
        "account_id": account_id,
        "sent_at": sent.isoformat(),
        "agent_version": "1.0.0",
        "broker": "paper",
        "balance": balance,
        "equity": balance,
        "margin_free": balance,
        "positions": positions or [],
        "symbols": symbols if symbols is not None else [gold_spec()],
    }


def report_body(account_id, order_id, status="filled", **extra):
    body = {
        "report_id": f"{order_id}:{status}",
        "account_id": account_id,
        "command_id": order_id,
        "order_id": order_id,
        "status": status,
        "executed_at": "2026-11-22T10:00:01Z",
    }
    if status == "filled":
        body.update(
            {"price": 1950.0, "volume": 0.1, "ticket": 1001, "broker_symbol": "XAUUSD.pro", "side": "buy"}
        )
    body.update(extra)
    return body


# --- session ------------------------------------------------------------------------------------


def capture_assume_role() -> list[dict]:
    """Record the parameters the bridge API sends to STS AssumeRole (on the real client)."""
    calls: list[dict] = []

    def record(params, **_):
        calls.append(dict(params))

    bridge_aws._sts().meta.events.register("provide-client-params.sts.AssumeRole", record)
    return calls


def test_session_credentials_are_scoped_to_the_accounts_queue(aws, call_api):
    acc = register(call_api)
    calls = capture_assume_role()
    status, _, body = call_api("POST", f"{B}/session", headers=bridge(acc["bridge_token"]))
    assert status == 200, body
    assert body["account_id"] == acc["account_id"] and body["queue_url"] == acc["queue_url"]
    assert body["region"] == aws.region and body["endpoint_url"] is None
    creds = body["credentials"]
    assert creds["access_key_id"] and creds["secret_access_key"] and creds["session_token"]
    expires = datetime.fromisoformat(creds["expiration"].replace("Z", "+00:00"))
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=61)

    (call,) = calls
    from signalos.common import audit

    events, _ = audit.list_for_user(U.a)
    assert "bridge_session_issued" in {e["event"] for e in events}
    assert call["RoleArn"] == aws.env["BRIDGE_QUEUE_ROLE_ARN"]
    assert 900 <= call["DurationSeconds"] <= 3600
    policy = json.loads(call["Policy"])
    (statement,) = policy["Statement"]
    queue_arn = aws.client("sqs").get_queue_attributes(
        QueueUrl=acc["queue_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == queue_arn  # exactly the one queue: no list, no wildcard
    assert sorted(statement["Action"]) == sorted(
        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    )
    assert "*" not in call["Policy"]


def test_session_refused_once_the_owner_may_no_longer_trade(aws, call_api):
    acc = register(call_api)
    from signalos.auth import data as auth_data

    auth_data.update_user_fields(U.a, {"license": {"tier": "trial", "features": ["auto_trading"],
                                                   "expires_at": "2026-01-01T00:00:00.000Z"}})
    calls = capture_assume_role()
    status, _, body = call_api("POST", f"{B}/session", headers=bridge(acc["bridge_token"]))
    assert (status, body["error"]["code"]) == (403, "TRADING_NOT_ALLOWED")
    assert "expired" in body["error"]["message"] and calls == []

    auth_data.update_user_fields(U.a, {"license": {"tier": "basic", "features": ["signal_parsing"]}})
    status, _, body = call_api("POST", f"{B}/session", headers=bridge(acc["bridge_token"]))
    assert status == 403 and "auto_trading" in body["error"]["message"]


def test_session_reports_the_local_endpoint(aws, call_api, monkeypatch):
    acc = register(call_api)
    assert call_api("POST", f"{B}/session", headers=bridge(acc["bridge_token"]))[0] == 200
    # Clients already exist; only the answer changes (the local stack sets AWS_ENDPOINT_URL).
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    _, _, body = call_api("POST", f"{B}/session", headers=bridge(acc["bridge_token"]))
    assert body["endpoint_url"] == "http://127.0.0.1:4566"


def test_session_refused_for_a_tampered_queue_record(aws, call_api):
    a = register(call_api, U.a)
    b = register(call_api, U.b)
    b_item = Table.from_env("TRADING_TABLE").get(f"USER#{U.b}", f"ACCOUNT#{b['account_id']}")
    Table.from_env("TRADING_TABLE").update(
        f"USER#{U.a}",
        f"ACCOUNT#{a['account_id']}",
        set_values={"queue_arn": b_item["queue_arn"], "queue_url": b_item["queue_url"]},
    )
    calls = capture_assume_role()
    status, _, _body = call_api("POST", f"{B}/session", headers=bridge(a["bridge_token"]))
    assert status == 503 and calls == []


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "BRIDGE_TOKEN_REQUIRED"),
        ({"Authorization": "Bearer sosb_" + "x" * 43}, "INVALID_BRIDGE_TOKEN"),
        ({"Authorization": "Basic abc"}, "BRIDGE_TOKEN_REQUIRED"),
    ],
)
def test_bridge_routes_need_a_valid_bridge_token(aws, call_api, headers, code):
    # The token is checked before the body is validated: a valid body or a malformed one, same 401.
    bodies = {
        "session": [None, {"unexpected": 1}],
        "heartbeat": [heartbeat_body("acc_x"), {"balance": "lots"}],
        "reports": [{"reports": []}, {"reports": "none"}],
        "token/rotate": [None, {"account_id": 7}],
    }
    for path, json_bodies in bodies.items():
        for json_body in json_bodies:
            status, _, body = call_api("POST", f"{B}/{path}", json=json_body, headers=headers)
            assert status == 401, (path, json_body, body)
            if path != "token/rotate":  # without a bridge token, rotation asks for user credentials
                assert body["error"]["code"] == code


def test_a_user_jwt_is_not_a_bridge_token(aws, call_api):
    register(call_api)
    status, _, body = call_api("POST", f"{B}/session", headers=user_headers(U.a))
    assert status == 401 and body["error"]["code"] == "BRIDGE_TOKEN_REQUIRED"


# --- heartbeat ----------------------------------------------------------------------------------


def test_heartbeat_is_stored_for_the_risk_engine(aws, call_api):
    acc = register(call_api)
    aid, token = acc["account_id"], acc["bridge_token"]
    position = {
        "ticket": 5,
        "symbol": "XAUUSD.pro",
        "side": "buy",
        "volume": 0.1,
        "price_open": 1945.0,
        "profit": 50.0,
    }
    status, _, body = call_api(
        "POST", f"{B}/heartbeat", headers=bridge(token), json=heartbeat_body(aid, positions=[position])
    )
    assert status == 200 and body["ok"] is True and body["server_time"].endswith("Z")
    hb = accounts.latest_heartbeat(U.a, aid)
    assert (hb.balance, hb.broker, hb.agent_version, len(hb.positions)) == (10_000.0, "paper", "1.0.0", 1)
    assert hb.positions[0].ticket == 5
    spec = accounts.symbol_spec(U.a, aid, "xauusd")
    assert (spec.broker_symbol, spec.volume_step, spec.trade_tick_value, spec.bid, spec.ask, spec.spread) == (
        "XAUUSD.pro",
        0.01,
        1.0,
        1949.75,
        1950.0,
        25,
    )
    assert accounts.symbol_spec(U.a, aid, "EURUSD") is None
    assert accounts.symbol_spec(U.b, aid, "XAUUSD") is None  # scoped to the owner
    _, _, view = call_api("GET", f"{B}/accounts/{aid}", headers=user_headers(U.a))
    assert view["last_heartbeat_at"] == body["server_time"]


def test_quotes_refresh_without_rewriting_unchanged_specs(aws, call_api):
    acc = register(call_api)
    aid, token = acc["account_id"], acc["bridge_token"]
    tbl = Table.from_env("TRADING_TABLE")
    call_api("POST", f"{B}/heartbeat", headers=bridge(token), json=heartbeat_body(aid))
    first = tbl.get(f"USER#{U.a}", f"ACCOUNT#{aid}#SPEC#XAUUSD")
    moved = gold_spec(bid=1960.0, ask=1960.3, spread=30)
    call_api(
        "POST",
        f"{B}/heartbeat",
        headers=bridge(token),
        json=heartbeat_body(aid, sent=SENT + timedelta(seconds=5), symbols=[moved]),
    )
    assert tbl.get(f"USER#{U.a}", f"ACCOUNT#{aid}#SPEC#XAUUSD") == first  # not rewritten
    spec = accounts.symbol_spec(U.a, aid, "XAUUSD")
    assert (spec.bid, spec.ask, spec.spread) == (1960.0, 1960.3, 30)
    # A quiet agent's last market is not offered as current (the static facts still are).
    later = datetime.now(UTC) + timedelta(seconds=accounts.DEFAULT_QUOTE_MAX_AGE_SECONDS + 5)
    stale = accounts.symbol_spec(U.a, aid, "XAUUSD", now=later)
    assert (stale.bid, stale.ask, stale.spread, stale.volume_step) == (None, None, None, 0.01)
    # A change of a static fact is written.
    call_api(
        "POST",
        f"{B}/heartbeat",
        headers=bridge(token),
        json=heartbeat_body(aid, sent=SENT + timedelta(seconds=10), symbols=[gold_spec(volume_step=0.1)]),
    )
    assert accounts.symbol_spec(U.a, aid, "XAUUSD").volume_step == 0.1


def test_an_older_heartbeat_does_not_overwrite_a_newer_one(aws, call_api):
    acc = register(call_api)
    aid, token = acc["account_id"], acc["bridge_token"]
    call_api("POST", f"{B}/heartbeat", headers=bridge(token), json=heartbeat_body(aid, balance=9_000.0))
    status, _, _ = call_api(
        "POST",
        f"{B}/heartbeat",
        headers=bridge(token),
        json=heartbeat_body(aid, sent=SENT - timedelta(seconds=30), balance=1.0),
    )
    assert status == 200
    assert accounts.latest_heartbeat(U.a, aid).balance == 9_000.0


def test_heartbeat_validation_and_rate_limit(aws, call_api, monkeypatch):
    acc = register(call_api)
    aid, token = acc["account_id"], acc["bridge_token"]
    status, _, body = call_api(
        "POST", f"{B}/heartbeat", headers=bridge(token), json={"account_id": aid, "balance": "lots"}
    )
    assert status == 422
    assert {"body.balance", "body.sent_at"} <= {f["field"] for f in body["error"]["details"]["fields"]}
    from signalos.bridge_api import service

    monkeypatch.setenv("BRIDGE_RATE_HEARTBEAT", "2")
    monkeypatch.setattr(service, "utc_now", lambda: datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC))
    for i in range(2):
        hb = heartbeat_body(aid, sent=SENT + timedelta(seconds=i))
        assert call_api("POST", f"{B}/heartbeat", headers=bridge(token), json=hb)[0] == 200
    status, headers, body = call_api(
        "POST", f"{B}/heartbeat", headers=bridge(token), json=heartbeat_body(aid)
    )
    assert status == 429 and body["error"]["code"] == "RATE_LIMITED" and "retry-after" in headers


# --- reports through trading's real apply function ----------------------------------------------


def open_manual_trade(call_api, user_id, account_id):
    status, _, body = call_api(
        "POST",
        "/api/v1/trades/open",
        headers=user_headers(user_id),
        json={
            "account_id": account_id,
            "symbol": "XAUUSD",
            "side": "buy",
            "volume": 0.1,
            "sl": 1940.0,
            "tp": [1960.0],
        },
    )
    assert status == 201, body
    return body["orders"][0]["order_id"]


def order_item(user_id, order_id):
    return Table.from_env("TRADING_TABLE").get(f"USER#{user_id}", f"ORDER#{order_id}")


def test_reports_apply_once_and_duplicates_change_nothing(aws, call_api):
    acc = register(call_api)
    aid, token = acc["account_id"], acc["bridge_token"]
    call_api("POST", f"{B}/heartbeat", headers=bridge(token), json=heartbeat_body(aid))
    order_id = open_manual_trade(call_api, U.a, aid)
    # The bridge consumes the order from its queue with the session's credentials.
    _, _, session = call_api("POST", f"{B}/session", headers=bridge(token))
    import boto3

    creds = session["credentials"]
    sqs = boto3.client(
        "sqs",
        region_name=session["region"],
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        aws_session_token=creds["session_token"],
    )
    messages = sqs.receive_message(QueueUrl=session["queue_url"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["order_id"] for m in messages] == [order_id]

    status, _, body = call_api(
        "POST", f"{B}/reports", headers=bridge(token), json={"reports": [report_body(aid, order_id)]}
    )
    assert status == 200
    assert body == {"results": [{"report_id": f"{order_id}:filled", "status": "applied", "error": None}]}
    after_first = order_item(U.a, order_id)
    assert after_first["state"] == "filled" and after_first["entry_price"] == 1950.0

    status, _, body = call_api(
        "POST",
        f"{B}/reports",
        headers=bridge(token),
        json={"reports": [report_body(aid, order_id), report_body(aid, order_id)]},
    )
    assert [r["status"] for r in body["results"]] == ["duplicate", "duplicate"]
    assert order_item(U.a, order_id) == after_first


def test_each_report_is_judged_on_its_own(aws, call_api):
    acc = register(call_api)
    aid, token = acc["account_id"], acc["bridge_token"]
    call_api("POST", f"{B}/heartbeat", headers=bridge(token), json=heartbeat_body(aid))
    order_id = open_manual_trade(call_api, U.a, aid)
    bad = {"report_id": "r-bad", "account_id": aid, "status": "teleported"}
    unknown = report_body(aid, "ord_nope")
    status, _, body = call_api(
        "POST",
        f"{B}/reports",
        headers=bridge(token),
        json={"reports": [bad, unknown, report_body(aid, order_id)]},
    )
    assert status == 200
    bad_r, unknown_r, good_r = body["results"]
    assert (
        bad_r["report_id"] == "r-bad" and bad_r["status"] == "rejected" and "invalid report" in bad_r["error"]
    )
    assert unknown_r["status"] == "rejected" and unknown_r["error"]
    assert good_r["status"] == "applied"


def test_report_batches_are_capped_at_100(aws, call_api):
    acc = register(call_api)
    reports = [report_body(acc["account_id"], f"ord_{i}") for i in range(101)]
    status, _, _body = call_api(
        "POST", f"{B}/reports", headers=bridge(acc["bridge_token"]), json={"reports": reports}
    )
    assert status == 422
