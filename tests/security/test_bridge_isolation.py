"""A bridge token reaches its own account and nothing else (reference/security.md: bridge
credentials are per trading account, revocable, and can reach that account's orders only)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from signalos.bridge_api import accounts
from signalos.bridge_api import aws as bridge_aws
from signalos.bridge_api.policy import QUEUE_ACTIONS, session_policy, session_seconds
from signalos.bridge_api.tokens import hash_secret
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





def bridge(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(call_api, user_id: str, name: str = "acc") -> dict:
    status, _, body = call_api(
        "POST", f"{B}/register", json={"name": name, "kind": "paper"}, headers=user_headers(user_id)
    )
    assert status == 201, body
    return body


SPEC = {
    "symbol": "XAUUSD",
    "broker_symbol": "XAUUSD",
    "digits": 2,
    "point": 0.01,
    "volume_min": 0.01,
    "volume_max": 50.0,
    "volume_step": 0.01,
    "trade_tick_value": 1.0,
    "trade_tick_size": 0.01,
    "trade_contract_size": 100.0,
    "bid": 1949.7,
    "ask": 1950.0,
}


def heartbeat(account_id: str, balance: float = 10_000.0, sent: str = "2026-11-22T10:00:00Z") -> dict:
    return {
        "account_id": account_id,
        "sent_at": sent,
        "balance": balance,
        "equity": balance,
        "margin_free": balance,
        "symbols": [SPEC],
    }


def filled(account_id: str, order_id: str, report_id: str | None = None) -> dict:
    return {
        "report_id": report_id or f"{order_id}:filled",
        "account_id": account_id,
        "command_id": order_id,
        "order_id": order_id,
        "status": "filled",
        "price": 1950.0,
        "volume": 0.1,
        "ticket": 9,
        "executed_at": "2026-11-22T10:00:01Z",
    }


def open_trade(call_api, user_id: str, account_id: str) -> str:
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


def order(user_id: str, order_id: str) -> dict:
    return Table.from_env("TRADING_TABLE").get(f"USER#{user_id}", f"ORDER#{order_id}")


@pytest.fixture
def two_users(aws, call_api):
    """user A with account A (and a second account A2), user B with account B, each with an open order."""
    a, a2, b = register(call_api, U.a), register(call_api, U.a, "second"), register(call_api, U.b)
    for acc in (a, a2, b):
        assert (
            call_api(
                "POST",
                f"{B}/heartbeat",
                headers=bridge(acc["bridge_token"]),
                json=heartbeat(acc["account_id"]),
            )[0]
            == 200
        )
    orders = {
        "a": open_trade(call_api, U.a, a["account_id"]),
        "a2": open_trade(call_api, U.a, a2["account_id"]),
        "b": open_trade(call_api, U.b, b["account_id"]),
    }
    return a, a2, b, orders


def test_token_of_a_cannot_heartbeat_for_b(two_users, call_api):
    a, _, b, _ = two_users
    status, _, body = call_api(
        "POST",
        f"{B}/heartbeat",
        headers=bridge(a["bridge_token"]),
        json=heartbeat(b["account_id"], balance=1.0, sent="2026-11-22T11:00:00Z"),
    )
    assert status == 403 and body["error"]["code"] == "ACCOUNT_MISMATCH"
    assert accounts.latest_heartbeat(U.b, b["account_id"]).balance == 10_000.0


def test_token_of_a_cannot_report_for_b(two_users, call_api):
    a, _, b, orders = two_users
    before = order(U.b, orders["b"])
    status, _, body = call_api(
        "POST",
        f"{B}/reports",
        headers=bridge(a["bridge_token"]),
        json={"reports": [filled(b["account_id"], orders["b"])]},
    )
    assert status == 200
    assert body["results"][0]["status"] == "rejected"
    assert order(U.b, orders["b"]) == before
    # Claiming its own account but naming B's order does not reach it either.
    status, _, body = call_api(
        "POST",
        f"{B}/reports",
        headers=bridge(a["bridge_token"]),
        json={"reports": [filled(a["account_id"], orders["b"], "sneaky")]},
    )
    assert body["results"][0]["status"] == "rejected"
    assert order(U.b, orders["b"]) == before
    # B's own bridge still applies it: the rejection left no marker behind.
    status, _, body = call_api(
        "POST",
        f"{B}/reports",
        headers=bridge(b["bridge_token"]),
        json={"reports": [filled(b["account_id"], orders["b"])]},
    )
    assert body["results"][0]["status"] == "applied"


def test_token_of_one_account_cannot_touch_the_same_users_other_account(two_users, call_api):
    a, a2, _, orders = two_users
    before = order(U.a, orders["a2"])
    _, _, body = call_api(
        "POST",
        f"{B}/reports",
        headers=bridge(a["bridge_token"]),
        json={"reports": [filled(a2["account_id"], orders["a2"])]},
    )
    assert body["results"][0]["status"] == "rejected"
    _, _, body = call_api(
        "POST",
        f"{B}/reports",
        headers=bridge(a["bridge_token"]),
        json={"reports": [filled(a["account_id"], orders["a2"], "cross")]},
    )
    assert body["results"][0]["status"] == "rejected"
    assert order(U.a, orders["a2"]) == before


def test_each_session_names_only_its_own_queue(two_users, call_api, aws):
    a, a2, b, _ = two_users
    calls: list[dict] = []
    bridge_aws._sts().meta.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: calls.append(dict(params))
    )
    sqs = aws.client("sqs")
    for acc in (a, a2, b):
        assert call_api("POST", f"{B}/session", headers=bridge(acc["bridge_token"]))[0] == 200
    arns = [
        sqs.get_queue_attributes(QueueUrl=acc["queue_url"], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for acc in (a, a2, b)
    ]
    assert len(set(arns)) == 3
    for call, arn in zip(calls, arns, strict=True):
        (statement,) = json.loads(call["Policy"])["Statement"]
        assert statement["Resource"] == arn
        assert sorted(statement["Action"]) == sorted(QUEUE_ACTIONS)
        assert not any(other in call["Policy"] for other in arns if other != arn)


def test_revoked_and_disabled_tokens_get_401(two_users, call_api):
    a, a2, _, _ = two_users
    assert call_api("DELETE", f"{B}/accounts/{a['account_id']}/token", headers=user_headers(U.a))[0] == 200
    assert call_api("DELETE", f"{B}/accounts/{a2['account_id']}", headers=user_headers(U.a))[0] == 200
    for acc in (a, a2):
        for path, body in (
            ("session", None),
            ("heartbeat", heartbeat(acc["account_id"])),
            ("reports", {"reports": []}),
        ):
            status, _, err = call_api("POST", f"{B}/{path}", headers=bridge(acc["bridge_token"]), json=body)
            assert status == 401, (path, err)
            assert err["error"]["code"] == "BRIDGE_TOKEN_REVOKED"


def test_the_stored_hash_is_not_a_credential(two_users, call_api):
    a, _, _, _ = two_users
    for forged in (hash_secret(a["bridge_token"]), "sosb_" + hash_secret(a["bridge_token"])):
        status, _, _ = call_api("POST", f"{B}/session", headers=bridge(forged))
        assert status == 401


def test_a_bridge_token_is_not_a_user_credential(two_users, call_api):
    a, _, _, _ = two_users
    for method, path in (
        ("GET", f"{B}/accounts"),
        ("GET", "/api/v1/trades/history"),
        ("POST", f"{B}/pairing-code"),
    ):
        status, _, _ = call_api(
            method,
            path,
            headers=bridge(a["bridge_token"]),
            json={"account_id": a["account_id"]} if method == "POST" else None,
        )
        assert status == 401, path


def test_session_policy_is_one_queue_four_actions():
    arn = "arn:aws:sqs:us-east-1:123456789012:signalos-prod-orders-acc_1.fifo"
    policy = session_policy(arn)
    (statement,) = policy["Statement"]
    assert statement == {
        "Sid": "OwnOrderQueueOnly",
        "Effect": "Allow",
        "Action": list(QUEUE_ACTIONS),
        "Resource": arn,
    }
    assert set(QUEUE_ACTIONS) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    }
    for bad in (
        "*",
        "arn:aws:sqs:us-east-1:123456789012:*",
        "arn:aws:sqs:us-east-1:123456789012:*.fifo",
        "signalos-prod-orders-acc_1.fifo",
    ):
        with pytest.raises(ValueError):
            session_policy(bad)
    assert (session_seconds(60), session_seconds(1800), session_seconds(86_400)) == (900, 1800, 3600)
