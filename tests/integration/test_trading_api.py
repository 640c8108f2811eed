"""The trading API end to end through its Lambda handler (call_api) on the embedded AWS:
accounts registered through the bridge API, reports through the bridge's reports route."""

from __future__ import annotations

import uuid

import pytest
from signalos.common.clock import iso, utc_now
from signalos.common.dynamo import Table
from signalos.contracts.orders import OrderCommandEnvelope

pytestmark = pytest.mark.usefixtures("aws_module")
T = "/api/v1/trades"
# Gold as a typical broker reports it in a heartbeat (100 oz contract, $1 per 0.01 tick per lot).
XAU_SPEC = {"symbol": "XAUUSD", "broker_symbol": "XAUUSD", "digits": 2, "point": 0.01, "volume_min": 0.01,
            "volume_max": 50, "volume_step": 0.01, "trade_tick_value": 1.0, "trade_tick_size": 0.01,
            "trade_contract_size": 100, "bid": 1951.0, "ask": 1951.3}
GOLD = {"symbol": "gold", "type": "BUY", "volume": 0.1, "sl": 1940.0, "tp": [1965.0]}
_CACHE: dict[int, dict] = {}


def new_user(call_api):
    name, pw = f"trader_{uuid.uuid4().hex[:10]}", "correct horse battery"
    assert call_api("POST", "/api/v1/auth/register", json={"username": name, "password": pw})[0] == 201
    _, _, tokens = call_api("POST", "/api/v1/auth/login", json={"username": name, "password": pw})
    return tokens["user"]["id"], {"Authorization": f"Bearer {tokens['access_token']}"}


def new_account(call_api, headers, **extra):
    status, _, body = call_api(
        "POST", "/api/v1/bridge/register", headers=headers, json={"name": "paper", "kind": "paper", **extra}
    )
    assert status == 201, body
    return body["account_id"], body["queue_url"], {"Authorization": f"Bearer {body['bridge_token']}"}


def drain(aws, url):
    sqs, out = aws.client("sqs"), []
    while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages"
    ):
        for m in msgs:
            out.append(OrderCommandEnvelope.parse_body(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


@pytest.fixture
def trader(aws_module, call_api):
    """One user with one paper account per module (registration hashes a password: do it once)."""
    if id(aws_module) not in _CACHE:
        uid, headers = new_user(call_api)
        acc, url, bridge = new_account(call_api, headers)
        _CACHE[id(aws_module)] = {"uid": uid, "h": headers, "acc": acc, "url": url, "bridge": bridge}
    t = _CACHE[id(aws_module)]
    drain(aws_module, t["url"])
    return t


def open_gold(call_api, t, **extra):
    status, _, body = call_api(
        "POST", f"{T}/open", headers=t["h"], json={**GOLD, "account_id": t["acc"], **extra}
    )
    assert status == 201, body
    return body


def test_manual_open_goes_through_the_queue_and_reports_update_it(aws_module, call_api, trader):
    body = open_gold(call_api, trader)
    [order] = body["orders"]
    assert (order["symbol"], order["side"], order["volume"], order["state"]) == ("XAUUSD", "buy", 0.1, "sent")
    assert order["origin"] == "manual" and order["enqueued_at"]
    [cmd] = drain(aws_module, trader["url"])
    assert (cmd.type, cmd.order_id, cmd.account_id, cmd.stop_loss, cmd.take_profit) == (
        "open",
        order["order_id"],
        trader["acc"],
        1940.0,
        1965.0,
    )

    report = {
        "report_id": f"{cmd.command_id}:filled",
        "account_id": trader["acc"],
        "command_id": cmd.command_id,
        "order_id": cmd.order_id,
        "status": "filled",
        "price": 1950.2,
        "volume": 0.1,
        "ticket": 991,
        "executed_at": iso(utc_now()),
    }
    status, _, res = call_api(
        "POST", "/api/v1/bridge/reports", headers=trader["bridge"], json={"reports": [report]}
    )
    assert status == 200 and res["results"][0]["status"] == "applied"
    status, _, got = call_api("GET", f"{T}/status/{cmd.order_id}", headers=trader["h"])
    assert status == 200
    assert (got["state"], got["entry_price"], got["ticket"]) == ("filled", 1950.2, 991)
    assert "enqueued_at->executed_at" in got["latency_ms"]
    assert call_api("GET", f"{T}/{cmd.order_id}", headers=trader["h"])[2] == got


def test_close_and_modify_send_manage_commands_for_that_order(aws_module, call_api, trader):
    order_id = open_gold(call_api, trader)["orders"][0]["order_id"]
    drain(aws_module, trader["url"])
    status, _, mod = call_api(
        "POST", f"{T}/modify", headers=trader["h"], json={"order_id": order_id, "sl": 1945.0}
    )
    assert status == 200 and mod["order_ids"] == [order_id]
    status, _, closed = call_api(
        "POST", f"{T}/close", headers=trader["h"], json={"order_id": order_id, "fraction": 0.5}
    )
    assert status == 200
    cmds = drain(aws_module, trader["url"])
    assert [(c.action, c.target_order_ids) for c in cmds] == [
        ("modify", [order_id]),
        ("close_partial", [order_id]),
    ]
    assert cmds[0].stop_loss == 1945.0 and cmds[1].fraction == 0.5
    assert [c.command_id for c in cmds] == [*mod["command_ids"], *closed["command_ids"]]


def test_another_users_order_and_account_are_not_found(aws_module, call_api, trader):
    order_id = open_gold(call_api, trader)["orders"][0]["order_id"]
    _, other = new_user(call_api)
    for method, path, body in [
        ("GET", f"{T}/status/{order_id}", None),
        ("POST", f"{T}/close", {"order_id": order_id}),
        ("POST", f"{T}/modify", {"order_id": order_id, "sl": 1.0}),
        ("POST", f"{T}/open", {**GOLD, "account_id": trader["acc"]}),
        ("GET", f"{T}/account?account_id={trader['acc']}", None),
    ]:
        status, _, err = call_api(method, path, headers=other, json=body)
        assert status == 404, (path, err)
    drained = drain(aws_module, trader["url"])
    assert [c.type for c in drained] == ["open"]  # only the owner's own open


def test_client_order_id_never_opens_twice(aws_module, call_api, trader):
    key = f"my-{uuid.uuid4().hex[:8]}"
    first = open_gold(call_api, trader, client_order_id=key)
    second = open_gold(call_api, trader, client_order_id=key)
    assert [o["order_id"] for o in first["orders"]] == [o["order_id"] for o in second["orders"]]
    assert len(drain(aws_module, trader["url"])) == 1


def test_risk_refusal_is_422_with_the_reason_and_listed(aws_module, call_api, trader):
    status, _, err = call_api(
        "POST",
        f"{T}/open",
        headers=trader["h"],
        json={**GOLD, "account_id": trader["acc"], "sl": 1990.0, "price": 1950.0},
    )
    assert status == 422
    assert err["error"]["code"] == "RISK_REJECTED"
    assert err["error"]["details"]["reason_code"] == "SL_WRONG_SIDE"
    assert drain(aws_module, trader["url"]) == []
    _, _, rej = call_api("GET", f"{T}/rejections", headers=trader["h"])
    assert rej["items"][0]["reason_code"] == "SL_WRONG_SIDE" and rej["items"][0]["origin"] == "manual"


def test_history_is_paginated_and_filtered(aws_module, call_api, trader):
    uid, h = new_user(call_api)
    acc, url, _ = new_account(call_api, h)
    t = {"uid": uid, "h": h, "acc": acc}
    for symbol in ("XAUUSD", "EURUSD", "XAUUSD"):
        payload = {"symbol": symbol, "side": "buy", "volume": 0.01}
        assert call_api("POST", f"{T}/open", headers=h, json={**payload, "account_id": acc})[0] == 201
    status, _, page1 = call_api("GET", f"{T}/history", headers=h, query={"limit": "2"})
    assert status == 200 and len(page1["items"]) == 2 and page1["next_cursor"]
    _, _, page2 = call_api(
        "GET", f"{T}/history", headers=h, query={"limit": "2", "cursor": page1["next_cursor"]}
    )
    assert len(page2["items"]) == 1 and page2["next_cursor"] is None
    ids = [o["order_id"] for o in page1["items"] + page2["items"]]
    assert len(set(ids)) == 3
    created = [o["created_at"] for o in page1["items"] + page2["items"]]
    assert created == sorted(created, reverse=True)
    _, _, gold = call_api("GET", f"{T}/history", headers=h, query={"symbol": "gold", "status": "sent"})
    assert {o["symbol"] for o in gold["items"]} == {"XAUUSD"} and len(gold["items"]) == 2
    _, _, none = call_api("GET", f"{T}/history", headers=h, query={"to": "2020-01-01"})
    assert none["items"] == []
    status, _, err = call_api("GET", f"{T}/history", headers=h, query={"from": "yesterday"})
    assert status == 400 and err["error"]["code"] == "INVALID_DATE"
    # A cursor made for another user's partition is refused.
    status, _, _ = call_api(
        "GET", f"{T}/history", headers=trader["h"], query={"cursor": page1["next_cursor"]}
    )
    assert status == 400
    drain(aws_module, url)
    assert t


def test_account_and_symbol_spec_from_the_last_heartbeat(aws_module, call_api, trader):
    status, _, before = call_api(
        "GET", f"{T}/account", headers=trader["h"], query={"account_id": trader["acc"]}
    )
    assert status == 200 and before["account_id"] == trader["acc"]
    hb = {
        "account_id": trader["acc"],
        "sent_at": iso(utc_now()),
        "broker": "paper",
        "balance": 10000.0,
        "equity": 10012.5,
        "margin_free": 9800.0,
        "currency": "USD",
        "positions": [
            {
                "ticket": 5,
                "symbol": "XAUUSD",
                "side": "buy",
                "volume": 0.1,
                "price_open": 1950.0,
                "profit": 12.5,
                "order_id": "ord_x",
            }
        ],
        "symbols": [XAU_SPEC],
    }
    assert call_api("POST", "/api/v1/bridge/heartbeat", headers=trader["bridge"], json=hb)[0] == 200
    _, _, after = call_api("GET", f"{T}/account", headers=trader["h"], query={"account_id": trader["acc"]})
    assert after["heartbeat"] is True
    assert (after["balance"], after["equity"], after["positions"][0]["ticket"]) == (10000.0, 10012.5, 5)
    status, _, spec = call_api(
        "GET", f"{T}/symbols/gold", headers=trader["h"], query={"account_id": trader["acc"]}
    )
    assert status == 200
    assert (spec["symbol"], spec["volume_step"], spec["bid"], spec["ask"]) == ("XAUUSD", 0.01, 1951.0, 1951.3)
    status, _, err = call_api(
        "GET", f"{T}/symbols/USDJPY", headers=trader["h"], query={"account_id": trader["acc"]}
    )
    assert status == 404 and err["error"]["code"] == "SYMBOL_NOT_REPORTED"


def test_subscriptions_crud_scoped_to_the_caller(aws_module, call_api, trader):
    signals = Table.from_env("SIGNALS_TABLE")
    now = iso(utc_now())
    # A provider of this user, and a public one of someone else (SIGNALS' provider item shape).
    own, public = f"prv_{uuid.uuid4().hex[:8]}", f"prv_{uuid.uuid4().hex[:8]}"
    signals.put(
        {
            "pk": f"USER#{trader['uid']}",
            "sk": f"PROVIDER#{own}",
            "type": "provider",
            "provider_id": own,
            "user_id": trader["uid"],
            "name": "mine",
            "visibility": "private",
            "created_at": now,
            "updated_at": now,
        }
    )
    signals.put(
        {
            "pk": "USER#usr_someone",
            "sk": f"PROVIDER#{public}",
            "type": "provider",
            "provider_id": public,
            "user_id": "usr_someone",
            "name": "public",
            "visibility": "public",
            "created_at": now,
            "updated_at": now,
            "gsi1pk": "PROVIDERS#PUBLIC",
            "gsi1sk": f"{now}#{public}",
        }
    )
    h, acc = trader["h"], trader["acc"]
    status, _, sub = call_api(
        "POST",
        "/api/v1/subscriptions",
        headers=h,
        json={"provider_id": own, "account_id": acc, "rules": {"fixed_lot": 0.05}},
    )
    assert status == 201, sub
    assert sub["rules"]["fixed_lot"] == 0.05 and sub["enabled"] is True
    status, _, dup = call_api(
        "POST", "/api/v1/subscriptions", headers=h, json={"provider_id": own, "account_id": acc}
    )
    assert status == 409 and dup["error"]["code"] == "SUBSCRIPTION_EXISTS"
    status, _, pub = call_api(
        "POST", "/api/v1/subscriptions", headers=h, json={"provider_id": public, "account_id": acc}
    )
    assert status == 201
    status, _, err = call_api(
        "POST",
        "/api/v1/subscriptions",
        headers=h,
        json={"provider_id": "prv_private_of_other", "account_id": acc},
    )
    assert status == 404 and err["error"]["code"] == "PROVIDER_NOT_FOUND"
    status, _, err = call_api(
        "POST",
        "/api/v1/subscriptions",
        headers=h,
        json={"provider_id": own, "account_id": acc, "user_id": "usr_x"},
    )
    assert status == 422
    status, _, _ = call_api(
        "POST",
        "/api/v1/subscriptions",
        headers=h,
        json={"provider_id": own, "account_id": acc, "rules": {"risk_percent": 500}},
    )
    assert status == 422
    _, _, listing = call_api("GET", "/api/v1/subscriptions", headers=h)
    assert {s["subscription_id"] for s in listing["items"]} >= {
        sub["subscription_id"],
        pub["subscription_id"],
    }
    status, _, patched = call_api(
        "PATCH",
        f"/api/v1/subscriptions/{sub['subscription_id']}",
        headers=h,
        json={"enabled": False, "rules": {"sizing_mode": "risk_percent", "risk_percent": 1}},
    )
    assert status == 200 and patched["enabled"] is False and patched["rules"]["risk_percent"] == 1
    # Disabled: not in the provider's fan-out index any more.
    from signalos.trading import subscriptions

    assert sub["subscription_id"] not in [
        i["subscription_id"] for i in subscriptions.enabled_for_provider(own)
    ]
    _, other = new_user(call_api)
    assert call_api("GET", f"/api/v1/subscriptions/{sub['subscription_id']}", headers=other)[0] == 404
    assert call_api("DELETE", f"/api/v1/subscriptions/{sub['subscription_id']}", headers=other)[0] == 404
    assert call_api("DELETE", f"/api/v1/subscriptions/{sub['subscription_id']}", headers=h)[0] == 200
    assert call_api("GET", f"/api/v1/subscriptions/{sub['subscription_id']}", headers=h)[0] == 404
    # The (provider, account) pair is free again.
    assert (
        call_api("POST", "/api/v1/subscriptions", headers=h, json={"provider_id": own, "account_id": acc})[0]
        == 201
    )


def test_actions_need_credentials(call_api):
    assert call_api("POST", f"{T}/open", json={**GOLD, "account_id": "acc_x"})[0] == 401
    assert call_api("GET", f"{T}/history")[0] == 401
    assert call_api("GET", "/api/v1/subscriptions")[0] == 401


def test_a_manual_volume_the_broker_cannot_take_is_refused_not_resized(aws_module, call_api, trader):
    hb = {
        "account_id": trader["acc"],
        "sent_at": iso(utc_now()),
        "broker": "paper",
        "balance": 10000.0,
        "equity": 10000.0,
        "margin_free": 10000.0,
        "symbols": [XAU_SPEC],
    }
    assert call_api("POST", "/api/v1/bridge/heartbeat", headers=trader["bridge"], json=hb)[0] == 200
    for volume in (99.0, 0.015):
        status, _, err = call_api(
            "POST",
            f"{T}/open",
            headers=trader["h"],
            json={**GOLD, "account_id": trader["acc"], "volume": volume},
        )
        assert status == 422, err
        assert err["error"]["details"]["reason_code"] == "VOLUME_NOT_PLACEABLE"
    assert drain(aws_module, trader["url"]) == []


def test_path_ids_are_bounded(call_api, trader):
    status, _, err = call_api("GET", f"{T}/status/{'x' * 2000}", headers=trader["h"])
    assert status == 422 and err["error"]["code"] == "VALIDATION_ERROR"
    assert call_api("GET", f"/api/v1/subscriptions/{'s' * 65}", headers=trader["h"])[0] == 422
    assert call_api("GET", f"{T}/symbols/{'X' * 40}", headers=trader["h"])[0] == 422
