"""Unrestricted resource consumption (OWASP API4) and sensitive business flows (API6).

Page sizes are capped (at most 100 items, over-large `limit` is a 422), bodies over 256 KB are
413 before anything parses them, batches are bounded (imports, reports, ids, symbols), counts
per user are capped (API keys, providers, accounts), and the rate limits that exist bite:
login lockout per account, bridge heartbeat/reports/session per account, pairing per address.
The admin's global trading caps and maintenance switch reach trading, and a Telegram post does
not trade for a subscriber who is disabled or no longer licensed for auto_trading.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from signalos.common.clock import iso, utc_now
from signalos.common.ids import new_id
from support.users import ALL_FEATURES, create_profile, user_headers

pytestmark = pytest.mark.usefixtures("aws_module")

V1 = "/api/v1"
LIMIT_BYTES = 256 * 1024
PASSWORD = "correct horse battery"
SIGNAL = "XAUUSD BUY NOW 1950 SL 1940 TP 1960"


def ok(result: tuple[int, dict, Any], status: int = 200) -> Any:
    code, _, body = result
    assert code == status, body
    return body


def error(result: tuple[int, dict, Any], status: int, code: str) -> dict[str, Any]:
    got_status, _, body = result
    assert (got_status, body["error"]["code"]) == (status, code), body
    return body["error"]


def new_user(features: tuple[str, ...] = ALL_FEATURES) -> tuple[str, dict[str, str]]:
    uid = new_id("usr")
    create_profile(uid)
    return uid, user_headers(uid, features)


def admin() -> dict[str, str]:
    from signalos.auth import data as auth_data
    from signalos.auth.licenses import license_for_tier
    from signalos.common.secrets import jwt_signing_key
    from signalos.common.tokens import issue_access_token

    uid = new_id("usr")
    auth_data.create_user({"user_id": uid, "username": uid, "role": "admin", "status": "active",
                           "license": license_for_tier("enterprise"), "created_at": iso()})
    token = issue_access_token(jwt_signing_key(), user_id=uid, username=uid, role="admin",
                               license_tier="enterprise", features=ALL_FEATURES, license_expires_at=None,
                               session_id=None).token
    return {"Authorization": f"Bearer {token}"}


def register_account(call_api, headers: dict[str, str], name: str = "paper") -> dict[str, Any]:
    body = {"name": name, "kind": "paper"}
    return ok(call_api("POST", f"{V1}/bridge/register", headers=headers, json=body), 201)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def openapi(call_api) -> dict[str, Any]:
    return ok(call_api("GET", "/api/openapi.json"))


# --- page sizes -----------------------------------------------------------------------------------

def test_every_list_route_refuses_or_caps_a_huge_page(call_api):
    _, user = new_user()
    boss = admin()
    listed = 0
    for path, ops in openapi(call_api)["paths"].items():
        get = ops.get("get") or {}
        if not any(p["name"] == "limit" and p["in"] == "query" for p in get.get("parameters", [])):
            continue
        listed += 1
        headers = boss if path.startswith("/api/v1/admin") else user
        for limit in ("100000", "0", "-1"):
            status, _, body = call_api("GET", path, headers=headers, query={"limit": limit})
            if status == 200:
                assert len(body["items"]) <= 100, path
            else:
                assert status == 422 and "query.limit" in json.dumps(body["error"]["details"]), (path, body)
        body = ok(call_api("GET", path, headers=headers, query={"limit": "100"}))
        assert set(body) >= {"items", "next_cursor"}, path
    assert listed >= 8


def test_a_page_holds_at_most_100_items_whatever_limit_asks(call_api):
    _, user = new_user()
    lines = "\n".join(json.dumps({"text": f"Good morning {n}"}) for n in range(105))
    body = {"format": "jsonl", "content": lines}
    report = ok(call_api("POST", f"{V1}/signals/import", headers=user, json=body))
    assert report["ok"] == 105, report
    first = ok(call_api("GET", f"{V1}/signals/history", headers=user, query={"limit": "1000"}))
    assert len(first["items"]) == 100 and first["next_cursor"]
    rest = ok(call_api("GET", f"{V1}/signals/history", headers=user,
                       query={"limit": "1000", "cursor": first["next_cursor"]}))
    assert len(rest["items"]) == 5 and rest["next_cursor"] is None
    assert not {s["signal_id"] for s in first["items"]} & {s["signal_id"] for s in rest["items"]}


def test_cursors_are_bounded_and_checked(call_api):
    _, user = new_user()
    for cursor in ("x" * 3000, "not base64 !!", "e30", "WzFd"):  # too long, junk, {}, [1]
        status, _, body = call_api("GET", f"{V1}/subscriptions", headers=user, query={"cursor": cursor})
        assert status in (400, 422), (cursor, body)


# --- body size ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "auth"), [
    ("POST", "/api/v1/auth/register", None),
    ("POST", "/api/v1/signals/parse", "user"),
    ("POST", "/api/v1/signals/import", "user"),
    ("POST", "/api/v1/subscriptions", "user"),
    ("POST", "/api/v1/bridge/reports", "bridge"),
    ("POST", "/api/v1/telegram/webhook", None),
    ("POST", "/api/v1/analytics/report/pdf", "user"),
    ("PUT", "/api/v1/admin/settings", "user"),
])
def test_a_body_over_256_kb_is_413_before_anything_reads_it(call_api, method, path, auth):
    headers = {"content-type": "application/json"}
    if auth == "user":
        headers.update(new_user()[1])
    elif auth == "bridge":
        headers.update(bearer("sosb_" + "x" * 43))
    padding = '{"text": "' + "x" * (LIMIT_BYTES - 12) + '"}'
    assert len(padding.encode()) == LIMIT_BYTES
    over = call_api.raw(method, path, body=padding + " ", headers=headers)
    body = json.loads(over.body)
    assert over.status == 413 and body["error"]["code"] == "PAYLOAD_TOO_LARGE", body
    assert body["error"]["details"] == {"max_bytes": LIMIT_BYTES}
    at_limit = call_api.raw(method, path, body=padding, headers=headers)
    assert at_limit.status != 413 and at_limit.status < 500, at_limit.body[:300]


def test_a_binary_body_is_measured_decoded(call_api):
    """A base64-encoded (non-UTF-8) body counts by its decoded bytes, not its encoding."""
    _, user = new_user()
    headers = {**user, "content-type": "application/octet-stream"}
    over = call_api.raw("POST", f"{V1}/signals/parse", body=b"\xff" * (LIMIT_BYTES + 1), headers=headers)
    assert over.status == 413, over.body
    under = call_api.raw("POST", f"{V1}/signals/parse", body=b"\xff" * (LIMIT_BYTES // 2), headers=headers)
    assert under.status in (400, 415, 422), under.body


# --- batches and sizes inside a body --------------------------------------------------------------

def test_an_import_of_too_many_lines_stores_nothing(call_api):
    _, user = new_user()
    lines = "\n".join(json.dumps({"text": SIGNAL}) for _ in range(1001))
    body = {"format": "jsonl", "content": lines}
    err = error(call_api("POST", f"{V1}/signals/import", headers=user, json=body), 413, "TOO_MANY_LINES")
    assert err["details"] == {"max_lines": 1000}
    csv = "text\n" + "\n".join(["hi"] * 1001)
    error(call_api("POST", f"{V1}/signals/import", headers=user, json={"format": "csv", "content": csv}),
          413, "TOO_MANY_LINES")
    big = "\n".join(json.dumps({"text": "y" * 7000}) for _ in range(35))  # over 240,000 characters
    status, _, body = call_api("POST", f"{V1}/signals/import", headers=user,
                               json={"format": "jsonl", "content": big})
    assert status == 422 and "body.content" in json.dumps(body), body
    assert ok(call_api("GET", f"{V1}/signals/history", headers=user))["items"] == []


def test_bridge_batches_are_bounded(call_api):
    uid, user = new_user()
    acc = register_account(call_api, user)
    token = bearer(acc["bridge_token"])
    reports = [{"report_id": f"r{n}", "account_id": acc["account_id"], "command_id": f"c{n}",
                "order_id": f"o{n}", "status": "filled", "executed_at": iso(utc_now())} for n in range(101)]
    status, _, body = call_api("POST", f"{V1}/bridge/reports", headers=token, json={"reports": reports})
    assert status == 422 and "body.reports" in json.dumps(body), body
    spec = {"symbol": "S", "broker_symbol": "S", "digits": 2, "point": 0.01, "volume_min": 0.01,
            "volume_max": 1.0, "volume_step": 0.01, "trade_tick_value": 1.0, "trade_tick_size": 0.01,
            "trade_contract_size": 1.0}
    beat = {"account_id": acc["account_id"], "sent_at": iso(utc_now()), "balance": 1.0, "equity": 1.0,
            "margin_free": 1.0}
    status, _, body = call_api("POST", f"{V1}/bridge/heartbeat", headers=token,
                               json={**beat, "symbols": [{**spec, "symbol": f"S{n}"} for n in range(501)]})
    assert status == 422 and "body.symbols" in json.dumps(body), body
    assert ok(call_api("GET", f"{V1}/trades/account", headers=user))["heartbeat"] is False  # none stored
    symbol_map = {f"SYM{n}": f"SYM{n}.x" for n in range(501)}
    status, _, body = call_api("POST", f"{V1}/bridge/register", headers=user_headers(uid),
                               json={"name": "many", "kind": "paper", "symbol_map": symbol_map})
    assert status == 422 and "body.symbol_map" in json.dumps(body), body


def test_request_fields_are_bounded(call_api):
    _, user = new_user()
    cases = [
        ("POST", "/signals/parse-sync", {"text": "x" * 8001}, "body.text"),
        ("POST", "/trades/close", {"order_ids": [f"ord_{n}" for n in range(101)]}, "body.order_ids"),
        ("POST", "/auth/login", {"username": "u", "password": "p",
                                 "device_info": {f"k{n}": "v" for n in range(21)}}, "body.device_info"),
        ("POST", "/signals/providers", {"name": "n" * 121}, "body.name"),
        ("POST", "/auth/api-keys", {"name": "k", "expires_in_days": 100_000}, "body.expires_in_days"),
        ("POST", "/bridge/pair", {"code": "C" * 33}, "body.code"),
    ]
    for method, path, body, field in cases:
        status, _, got = call_api(method, f"{V1}{path}", headers=user, json=body)
        assert status == 422 and field in json.dumps(got), (path, got)
    status, _, got = call_api("GET", f"{V1}/signals/stats", headers=user, query={"from": "2025-01-01",
                                                                                 "to": "2026-11-01"})
    assert status == 400 and got["error"]["code"] == "INVALID_PERIOD", got


def test_every_path_parameter_is_bounded(call_api):
    unbounded = []
    for path, ops in openapi(call_api)["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                schema = param.get("schema") or {}
                if param["in"] == "path" and not (schema.get("pattern") or schema.get("maxLength")):
                    unbounded.append(f"{method.upper()} {path} {param['name']}")
    assert unbounded == []


# --- counts per user ------------------------------------------------------------------------------

def test_api_keys_per_user_are_capped(call_api):
    _, user = new_user()
    for n in range(25):
        ok(call_api("POST", f"{V1}/auth/api-keys", headers=user, json={"name": f"k{n}"}), 201)
    error(call_api("POST", f"{V1}/auth/api-keys", headers=user, json={"name": "one too many"}), 409,
          "API_KEY_LIMIT")
    assert len(ok(call_api("GET", f"{V1}/auth/api-keys", headers=user))["items"]) == 25


def test_providers_per_user_are_capped(call_api):
    from signalos.signals.data import put_new_provider
    from signalos.signals.records import Provider

    uid, user = new_user()
    now = utc_now()
    for n in range(99):  # stored as the API stores them (100 API calls would cost seconds)
        put_new_provider(Provider(provider_id=new_id("prv"), user_id=uid, name=f"p{n}", created_at=now,
                                  updated_at=now))
    ok(call_api("POST", f"{V1}/signals/providers", headers=user, json={"name": "p99"}), 201)
    error(call_api("POST", f"{V1}/signals/providers", headers=user, json={"name": "p100"}), 400,
          "TOO_MANY_PROVIDERS")


def test_trading_accounts_per_user_are_capped(call_api, monkeypatch):
    _, single = new_user(("signal_parsing", "auto_trading"))
    register_account(call_api, single)
    error(call_api("POST", f"{V1}/bridge/register", headers=single, json={"name": "2nd", "kind": "paper"}),
          403, "FEATURE_NOT_LICENSED")
    monkeypatch.setenv("BRIDGE_MAX_ACCOUNTS", "2")
    _, multi = new_user()
    register_account(call_api, multi, "one")
    register_account(call_api, multi, "two")
    error(call_api("POST", f"{V1}/bridge/register", headers=multi, json={"name": "3rd", "kind": "paper"}),
          403, "ACCOUNT_LIMIT")
    assert len(ok(call_api("GET", f"{V1}/bridge/accounts", headers=multi))["items"]) == 2


# --- rate limits ----------------------------------------------------------------------------------

def _sign_up(call_api) -> str:
    username = f"rl_{uuid.uuid4().hex[:10]}"
    ok(call_api("POST", f"{V1}/auth/register", json={"username": username, "password": PASSWORD}), 201)
    return username


def test_login_lockout_is_per_account_and_guards_change_password(call_api):
    victim, bystander = _sign_up(call_api), _sign_up(call_api)
    for _ in range(5):
        error(call_api("POST", f"{V1}/auth/login", json={"username": victim, "password": "wrong password"}),
              401, "INVALID_CREDENTIALS")
    status, headers, _ = call_api("POST", f"{V1}/auth/login", json={"username": victim, "password": PASSWORD})
    assert status == 429 and 0 < int(headers["retry-after"]) <= 60
    ok(call_api("POST", f"{V1}/auth/login", json={"username": bystander, "password": PASSWORD}))

    # a stolen access token cannot be used to guess the current password either
    tokens = ok(call_api("POST", f"{V1}/auth/login", json={"username": bystander, "password": PASSWORD}))
    auth = bearer(tokens["access_token"])
    change = {"current_password": "guess number x", "new_password": "a brand new password"}
    for _ in range(5):
        error(call_api("POST", f"{V1}/auth/change-password", headers=auth, json=change), 401,
              "INVALID_CREDENTIALS")
    error(call_api("POST", f"{V1}/auth/change-password", headers=auth,
                   json={**change, "current_password": PASSWORD}), 429, "ACCOUNT_LOCKED")


@pytest.fixture
def pinned_clock(monkeypatch):
    """Bridge rate windows at a fixed instant (a test cannot straddle a window); returns it."""
    from signalos.bridge_api import service

    now = utc_now().replace(second=1, microsecond=0)
    monkeypatch.setattr(service, "utc_now", lambda: now)
    return now


@pytest.mark.parametrize("route", ["heartbeat", "reports", "session"])
def test_bridge_calls_are_rate_limited_per_account(call_api, monkeypatch, pinned_clock, route):
    monkeypatch.setenv(f"BRIDGE_RATE_{route.upper()}", "3")
    _, user = new_user()
    noisy, quiet = register_account(call_api, user, "noisy"), register_account(call_api, user, "quiet")

    def call(acc: dict[str, Any]) -> tuple[int, dict, Any]:
        body = {"heartbeat": {"account_id": acc["account_id"], "sent_at": iso(pinned_clock), "balance": 1.0,
                              "equity": 1.0, "margin_free": 1.0},
                "reports": {"reports": []}, "session": None}[route]
        return call_api("POST", f"{V1}/bridge/{route}", headers=bearer(acc["bridge_token"]), json=body)

    for _ in range(3):
        ok(call(noisy))
    status, headers, body = call(noisy)
    assert status == 429 and body["error"]["code"] == "RATE_LIMITED", body
    assert 0 < int(headers["retry-after"]) <= 60 and body["error"]["details"]["limit"] == 3
    ok(call(quiet))  # another account of the same owner has its own budget


def test_pairing_is_rate_limited_per_source_address(call_api, pinned_clock):
    _, user = new_user()
    acc = register_account(call_api, user)
    code = ok(call_api("POST", f"{V1}/bridge/pairing-code", headers=user,
                       json={"account_id": acc["account_id"]}))
    guesser = "198.51.100.7"
    for n in range(10):
        error(call_api("POST", f"{V1}/bridge/pair", json={"code": f"ABCD-{n:04d}"}, source_ip=guesser), 400,
              "INVALID_PAIRING_CODE")
    # the right code from the guessing address is still refused (and not spent) ...
    error(call_api("POST", f"{V1}/bridge/pair", json={"code": code["code"]}, source_ip=guesser), 429,
          "RATE_LIMITED")
    # ... so the owner, elsewhere, can still use it
    paired = ok(call_api("POST", f"{V1}/bridge/pair", json={"code": code["code"]}, source_ip="203.0.113.99"))
    assert paired["account_id"] == acc["account_id"]


# --- the admin's global trading caps (API6: sensitive business flows) -----------------------------

@pytest.fixture
def global_settings(call_api):
    """Set the admin's global settings for one test, and put the defaults back afterwards."""
    boss = admin()

    def put(**changes: Any) -> dict[str, Any]:
        version = ok(call_api("GET", f"{V1}/admin/settings", headers=boss))["version"]
        return ok(call_api("PUT", f"{V1}/admin/settings", headers=boss, json={"version": version, **changes}))

    yield put
    put(max_lots_per_order=None, max_orders_per_minute_per_account=None, maintenance_mode=False,
        maintenance_message=None)


def _trader(call_api) -> tuple[dict[str, str], dict[str, Any]]:
    _, user = new_user()
    acc = register_account(call_api, user)
    return user, acc


def _open(call_api, user: dict[str, str], acc: dict[str, Any], volume: float = 0.1) -> tuple[int, dict, Any]:
    return call_api("POST", f"{V1}/trades/open", headers=user, json={
        "account_id": acc["account_id"], "symbol": "XAUUSD", "side": "buy", "volume": volume, "sl": 1940.0})


def test_a_manual_trade_opens_without_global_caps(aws_module, call_api):
    """The control for the three tests below: the same trade goes through when nothing caps it."""
    user, acc = _trader(call_api)
    ok(_open(call_api, user, acc, volume=1.0), 201)
    assert aws_module.queue_depth(acc["queue_url"]) == 1


def test_maintenance_mode_stops_new_orders(aws_module, call_api, global_settings):
    user, acc = _trader(call_api)
    global_settings(maintenance_mode=True, maintenance_message="broker migration")
    status, _, body = _open(call_api, user, acc)
    assert status in (409, 422, 503), body
    assert aws_module.queue_depth(acc["queue_url"]) == 0


def test_max_lots_per_order_caps_manual_trades(aws_module, call_api, global_settings):
    user, acc = _trader(call_api)
    global_settings(max_lots_per_order=0.5)
    status, _, body = _open(call_api, user, acc, volume=5.0)
    assert status == 422 or all(o["volume"] <= 0.5 for o in body["orders"]), body


def test_max_orders_per_minute_per_account_throttles_orders(aws_module, call_api, global_settings):
    user, acc = _trader(call_api)
    global_settings(max_orders_per_minute_per_account=2)
    results = [_open(call_api, user, acc)[0] for _ in range(3)]
    assert results[:2] == [201, 201] and results[2] in (422, 429), results
    assert aws_module.queue_depth(acc["queue_url"]) == 2


def test_llm_cost_is_bounded_per_call_and_per_user_day(monkeypatch):
    """The slow path's LLM spend: a daily budget per user by default, per-call bounds always."""
    from signalos.signals import config

    default = config.llm_settings()
    assert 0 < default.daily_calls <= 1000 and 0 < default.daily_tokens <= 1_000_000
    monkeypatch.setenv("LLM_MAX_TOKENS", "1000000")
    monkeypatch.setenv("LLM_MAX_RETRIES", "100")
    wide = config.llm_settings()
    assert wide.max_tokens == 4000 and wide.max_retries == 5


# --- trading only while the owner may trade (a Telegram post reaches fan-out with no user token) --

CHAT_IDS = iter(range(-1002000000001, -1002000001000, -1))
UPDATE_IDS = iter(range(820_000_000, 821_000_000))


def _post(call_api, aws, chat_id: int, text: str) -> None:
    secret = aws.secret_json("TelegramSecret")["webhook_secret"]
    post = {"message_id": next(UPDATE_IDS), "chat": {"id": chat_id, "title": "c", "type": "channel"},
            "date": int(utc_now().timestamp()), "text": text}
    ok(call_api("POST", f"{V1}/telegram/webhook", headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                json={"update_id": next(UPDATE_IDS), "channel_post": post}))


@pytest.fixture
def linked_trader(aws_module, call_api) -> dict[str, Any]:
    """A user whose provider is linked to a chat and subscribed on their own paper account."""
    uid, user = new_user()
    provider = ok(call_api("POST", f"{V1}/signals/providers", headers=user, json={"name": "vip"}), 201)
    acc = register_account(call_api, user)
    ok(call_api("POST", f"{V1}/subscriptions", headers=user,
                json={"provider_id": provider["provider_id"], "account_id": acc["account_id"]}), 201)
    chat_id = next(CHAT_IDS)
    code = ok(call_api("POST", f"{V1}/telegram/link-codes", headers=user,
                       json={"provider_id": provider["provider_id"]}), 201)
    _post(call_api, aws_module, chat_id, code["command"])
    _post(call_api, aws_module, chat_id, SIGNAL)
    assert aws_module.queue_depth(acc["queue_url"]) == 1  # the control: a licensed user's post trades
    return {"uid": uid, "user": user, "acc": acc, "chat_id": chat_id}


def _set_owner(uid: str, **fields: Any) -> None:
    from signalos.auth import data as auth_data

    auth_data.update_user_fields(uid, fields)


def test_a_disabled_users_subscription_gets_no_orders(aws_module, call_api, linked_trader):
    _set_owner(linked_trader["uid"], status="disabled")
    _post(call_api, aws_module, linked_trader["chat_id"], "EURUSD SELL NOW 1.0850 SL 1.0900 TP 1.0800")
    assert aws_module.queue_depth(linked_trader["acc"]["queue_url"]) == 1


def test_a_subscriber_whose_license_lost_auto_trading_gets_no_orders(aws_module, call_api, linked_trader):
    from signalos.auth.licenses import license_for_tier

    _set_owner(linked_trader["uid"], license=license_for_tier("basic"))  # signal_parsing + telegram only
    _post(call_api, aws_module, linked_trader["chat_id"], "EURUSD SELL NOW 1.0850 SL 1.0900 TP 1.0800")
    assert aws_module.queue_depth(linked_trader["acc"]["queue_url"]) == 1
