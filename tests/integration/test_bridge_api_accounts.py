"""Bridge API, owner side, against the embedded AWS: register (queue + DLQ + token shown once),
license rules, listing, 404 for another user's account, pairing, rotation, revocation, delete."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from signalos.bridge_api.tokens import hash_secret
from signalos.common.dynamo import Table
from signalos.common.ids import new_id
from support.users import ALL_FEATURES, create_profile, user_headers

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





def register(call_api, user_id=None, *, features=ALL_FEATURES, name="Main", kind="paper", **extra):
    user_id = user_id or U.a
    body = {"name": name, "kind": kind, **extra}
    return call_api("POST", f"{B}/register", json=body, headers=user_headers(user_id, features))


def bridge(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def trading_items(aws) -> list[dict]:
    from signalos.common.dynamo import deserialize

    raw = aws.client("dynamodb").scan(TableName=aws.ref("TradingTable"))["Items"]
    return [deserialize(i) for i in raw]


def test_register_creates_fifo_queue_with_fifo_dlq_and_tags(aws, call_api):
    status, _, body = register(call_api, symbol_map={"xauusd": "GOLD"}, symbol_suffix=".pro", login=123)
    assert status == 201, body
    account_id = body["account_id"]
    assert body["account"]["account_id"] == account_id
    assert body["account"]["symbol_map"] == {"XAUUSD": "GOLD"}
    assert body["account"]["status"] == "active" and body["account"]["has_bridge_token"] is True
    sqs = aws.client("sqs")
    prefix = aws.env["ORDER_QUEUE_PREFIX"]
    assert body["queue_url"].endswith(f"/{prefix}{account_id}.fifo")
    attrs = sqs.get_queue_attributes(QueueUrl=body["queue_url"], AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true"
    assert attrs["ContentBasedDeduplication"] == "false"
    redrive = json.loads(attrs["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 5
    assert redrive["deadLetterTargetArn"].endswith(f":{prefix}{account_id}-dlq.fifo")
    dlq_url = sqs.get_queue_url(QueueName=f"{prefix}{account_id}-dlq.fifo")["QueueUrl"]
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["FifoQueue"])["Attributes"]
    assert dlq_attrs["FifoQueue"] == "true"
    assert sqs.list_queue_tags(QueueUrl=body["queue_url"])["Tags"]["owner"] == U.a
    assert sqs.list_queue_tags(QueueUrl=dlq_url)["Tags"]["owner"] == U.a


def test_token_is_shown_once_and_only_its_hash_is_stored(aws, call_api):
    status, _, body = register(call_api)
    token = body["bridge_token"]
    assert status == 201 and token.startswith("sosb_") and len(token) >= 40
    stored = json.dumps(trading_items(aws), default=str)
    assert token not in stored
    assert hash_secret(token) in stored
    # Never again: not in the account view nor in the list.
    for path in (f"{B}/accounts/{body['account_id']}", f"{B}/accounts"):
        status, _, view = call_api("GET", path, headers=user_headers(U.a))
        assert status == 200
        text = json.dumps(view)
        assert token not in text and hash_secret(token) not in text and "token_hash" not in text


def test_account_items_follow_the_shared_layout(aws, call_api):
    _, _, body = register(call_api)
    aid = body["account_id"]
    item = Table.from_env("TRADING_TABLE").get(f"USER#{U.a}", f"ACCOUNT#{aid}")
    assert (item["gsi1pk"], item["gsi1sk"], item["user_id"], item["status"]) == (
        f"ACCOUNT#{aid}",
        "ACCOUNT",
        U.a,
        "active",
    )
    token_item = Table.from_env("TRADING_TABLE").get(
        f"BRIDGETOKEN#{hash_secret(body['bridge_token'])}", "TOKEN"
    )
    assert (token_item["account_id"], token_item["user_id"], token_item["revoked"]) == (aid, U.a, False)


def order_queues(aws) -> set[str]:
    listed = aws.client("sqs").list_queues(QueueNamePrefix=aws.env["ORDER_QUEUE_PREFIX"], MaxResults=1000)
    return set(listed.get("QueueUrls", []))


def test_license_without_auto_trading_gets_403(aws, call_api):
    before = order_queues(aws)
    status, _, body = register(call_api, features=("signal_parsing",))
    assert status == 403 and body["error"]["code"] == "FEATURE_NOT_LICENSED"
    assert order_queues(aws) == before


def test_second_account_needs_multi_account(aws, call_api):
    pro = ("signal_parsing", "auto_trading")
    assert register(call_api, features=pro)[0] == 201
    before = order_queues(aws)
    status, _, body = register(call_api, features=pro, name="Second")
    assert status == 403
    assert body["error"]["code"] == "FEATURE_NOT_LICENSED"
    assert body["error"]["details"]["feature"] == "multi_account"
    assert order_queues(aws) == before  # nothing left behind by the refusal
    assert register(call_api, name="Second")[0] == 201  # with multi_account


def test_account_limit_with_multi_account(aws, call_api, monkeypatch):
    monkeypatch.setenv("BRIDGE_MAX_ACCOUNTS", "2")
    assert register(call_api)[0] == 201
    assert register(call_api)[0] == 201
    status, _, body = register(call_api)
    assert status == 403 and body["error"]["code"] == "ACCOUNT_LIMIT"


def test_register_validation_names_fields(aws, call_api):
    status, _, body = call_api(
        "POST", f"{B}/register", json={"name": "", "kind": "real"}, headers=user_headers(U.a)
    )
    assert status == 422
    fields = {f["field"] for f in body["error"]["details"]["fields"]}
    assert {"body.name", "body.kind"} <= fields
    status, _, body = call_api(
        "POST",
        f"{B}/register",
        json={"name": "x", "kind": "demo", "user_id": U.b},
        headers=user_headers(U.a),
    )
    assert status == 422  # the owner comes from the token, never from the body


def test_register_needs_credentials(aws, call_api):
    status, _, _body = call_api("POST", f"{B}/register", json={"name": "x", "kind": "demo"})
    assert status == 401


def test_list_and_get_are_scoped_to_the_owner(aws, call_api):
    _, _, a1 = register(call_api, U.a, name="A1")
    _, _, a2 = register(call_api, U.a, name="A2")
    _, _, b1 = register(call_api, U.b, name="B1")
    status, _, listing = call_api("GET", f"{B}/accounts", headers=user_headers(U.a))
    assert status == 200 and listing["next_cursor"] is None
    assert [i["name"] for i in listing["items"]] == ["A1", "A2"]
    status, _, page = call_api("GET", f"{B}/accounts", headers=user_headers(U.a), query={"limit": "1"})
    assert [i["name"] for i in page["items"]] == ["A1"] and page["next_cursor"]
    status, _, page2 = call_api(
        "GET",
        f"{B}/accounts",
        headers=user_headers(U.a),
        query={"limit": "1", "cursor": page["next_cursor"]},
    )
    assert [i["name"] for i in page2["items"]] == ["A2"]
    # B's cursor cannot page A's list.
    status, _, _ = call_api(
        "GET", f"{B}/accounts", headers=user_headers(U.b), query={"cursor": page["next_cursor"]}
    )
    assert status == 400
    # Another user's account is not found (404), for reads and writes alike.
    for method, path in [
        ("GET", f"{B}/accounts/{b1['account_id']}"),
        ("DELETE", f"{B}/accounts/{b1['account_id']}"),
        ("DELETE", f"{B}/accounts/{b1['account_id']}/token"),
    ]:
        status, _, body = call_api(method, path, headers=user_headers(U.a))
        assert status == 404, (method, path, body)
        assert body["error"]["code"] == "ACCOUNT_NOT_FOUND"
    status, _, body = call_api(
        "POST", f"{B}/pairing-code", json={"account_id": b1["account_id"]}, headers=user_headers(U.a)
    )
    assert status == 404
    status, _, body = call_api(
        "POST", f"{B}/token/rotate", json={"account_id": b1["account_id"]}, headers=user_headers(U.a)
    )
    assert status == 404
    assert call_api("GET", f"{B}/accounts/{a1['account_id']}", headers=user_headers(U.a))[0] == 200
    assert a2["account_id"] != a1["account_id"]


def test_delete_disables_revokes_and_deletes_the_queue(aws, call_api):
    _, _, body = register(call_api)
    aid, token = body["account_id"], body["bridge_token"]
    status, _, out = call_api("DELETE", f"{B}/accounts/{aid}", headers=user_headers(U.a))
    assert status == 200 and out == {"account_id": aid, "status": "disabled", "queue_deleted": True}
    assert not {q for q in order_queues(aws) if aid in q}  # queue and DLQ gone
    status, _, err = call_api("POST", f"{B}/session", headers=bridge(token))
    assert status == 401 and err["error"]["code"] == "BRIDGE_TOKEN_REVOKED"
    # Idempotent, and the slot is free again for a single-account license.
    assert call_api("DELETE", f"{B}/accounts/{aid}", headers=user_headers(U.a))[0] == 200
    status, _, view = call_api("GET", f"{B}/accounts/{aid}", headers=user_headers(U.a))
    assert view["status"] == "disabled" and view["has_bridge_token"] is False
    assert register(call_api, features=("auto_trading",))[0] == 201


def test_pairing_code_is_single_use_and_rotates_the_token(aws, call_api):
    _, _, body = register(call_api)
    aid, old_token = body["account_id"], body["bridge_token"]
    status, _, code = call_api(
        "POST", f"{B}/pairing-code", json={"account_id": aid}, headers=user_headers(U.a)
    )
    assert status == 200 and len(code["code"]) == 9 and code["code"][4] == "-"
    status, _, paired = call_api("POST", f"{B}/pair", json={"code": code["code"].lower().replace("-", " ")})
    assert status == 200, paired
    assert paired["account_id"] == aid and paired["queue_url"] == body["queue_url"]
    assert paired["bridge_token"].startswith("sosb_") and paired["bridge_token"] != old_token
    status, _, again = call_api("POST", f"{B}/pair", json={"code": code["code"]})
    assert status == 400 and again["error"]["code"] == "INVALID_PAIRING_CODE"
    assert call_api("POST", f"{B}/session", headers=bridge(old_token))[0] == 401
    assert call_api("POST", f"{B}/session", headers=bridge(paired["bridge_token"]))[0] == 200


def test_expired_pairing_code_is_refused(aws, call_api):
    _, _, body = register(call_api)
    _, _, code = call_api(
        "POST", f"{B}/pairing-code", json={"account_id": body["account_id"]}, headers=user_headers(U.a)
    )
    from signalos.bridge_api.tokens import normalize_code, pair_pk

    Table.from_env("TRADING_TABLE").update(
        pair_pk(normalize_code(code["code"])), "CODE", set_values={"expires_at": 1}
    )
    status, _, err = call_api("POST", f"{B}/pair", json={"code": code["code"]})
    assert status == 400 and err["error"]["code"] == "INVALID_PAIRING_CODE"


def test_pairing_guesses_are_rate_limited(aws, call_api, monkeypatch):
    from signalos.bridge_api import service

    monkeypatch.setenv("BRIDGE_RATE_PAIR", "3")
    # One fixed instant, 30 s into a minute: every guess lands in the same window.
    monkeypatch.setattr(service, "utc_now", lambda: datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC))
    for _ in range(3):
        assert call_api("POST", f"{B}/pair", json={"code": "AAAA-AAAA"}, source_ip="192.0.2.77")[0] == 400
    status, headers, body = call_api("POST", f"{B}/pair", json={"code": "AAAA-AAAA"}, source_ip="192.0.2.77")
    assert status == 429 and body["error"]["code"] == "RATE_LIMITED" and headers["retry-after"] == "30"
    # another address is not affected
    assert call_api("POST", f"{B}/pair", json={"code": "AAAA-AAAA"}, source_ip="192.0.2.78")[0] == 400


@pytest.mark.parametrize("by", ["bridge", "owner"])
def test_rotate_revokes_the_old_token(aws, call_api, by):
    _, _, body = register(call_api)
    aid, old = body["account_id"], body["bridge_token"]
    if by == "bridge":
        status, _, out = call_api("POST", f"{B}/token/rotate", headers=bridge(old))
    else:
        status, _, out = call_api(
            "POST", f"{B}/token/rotate", json={"account_id": aid}, headers=user_headers(U.a)
        )
    assert status == 200, out
    assert out["account_id"] == aid and out["bridge_token"] != old
    status, _, err = call_api("POST", f"{B}/session", headers=bridge(old))
    assert status == 401 and err["error"]["code"] == "BRIDGE_TOKEN_REVOKED"
    assert call_api("POST", f"{B}/session", headers=bridge(out["bridge_token"]))[0] == 200


def test_rotate_with_user_credentials_needs_account_id(aws, call_api):
    status, _, err = call_api("POST", f"{B}/token/rotate", json={}, headers=user_headers(U.a))
    assert status == 400 and err["error"]["code"] == "ACCOUNT_ID_REQUIRED"
    assert call_api("POST", f"{B}/token/rotate", json={"account_id": "acc_x"})[0] == 401


def test_revoke_then_rotate_by_owner_issues_a_fresh_token(aws, call_api):
    _, _, body = register(call_api)
    aid, token = body["account_id"], body["bridge_token"]
    status, _, out = call_api("DELETE", f"{B}/accounts/{aid}/token", headers=user_headers(U.a))
    assert status == 200 and out == {"account_id": aid, "revoked": True}
    status, _, err = call_api(
        "POST",
        f"{B}/heartbeat",
        headers=bridge(token),
        json={
            "account_id": aid,
            "sent_at": "2026-11-22T10:00:00Z",
            "balance": 1,
            "equity": 1,
            "margin_free": 1,
        },
    )
    assert status == 401 and err["error"]["code"] == "BRIDGE_TOKEN_REVOKED"
    status, _, out = call_api(
        "POST", f"{B}/token/rotate", json={"account_id": aid}, headers=user_headers(U.a)
    )
    assert status == 200 and call_api("POST", f"{B}/session", headers=bridge(out["bridge_token"]))[0] == 200


def test_audit_trail_records_account_lifecycle(aws, call_api):
    from signalos.common import audit

    _, _, body = register(call_api)
    call_api("DELETE", f"{B}/accounts/{body['account_id']}", headers=user_headers(U.a))
    events, _ = audit.list_for_user(U.a)
    assert {"bridge_account_registered", "bridge_account_disabled"} <= {e["event"] for e in events}


def test_real_login_flow_registers_a_trial_account(aws, call_api):
    status, _, _ = call_api(
        "POST",
        "/api/v1/auth/register",
        json={"username": f"trader{U.a[-8:].lower()}", "password": "correct horse battery"},
    )
    assert status == 201
    status, _, tokens = call_api(
        "POST",
        "/api/v1/auth/login",
        json={"username": f"trader{U.a[-8:].lower()}", "password": "correct horse battery"},
    )
    assert status == 200
    status, _, body = call_api(
        "POST",
        f"{B}/register",
        json={"name": "Paper", "kind": "paper"},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert status == 201, body
