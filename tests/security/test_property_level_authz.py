"""Object property level authorization (OWASP API3): requests cannot set who owns what, and
responses never carry secrets.

- Writes cannot set owner, role, license, status or ownership of accounts: unknown fields are
  refused (422, nothing written) and fields the caller may not use are 403/404, nothing written.
- Every JSON response any test here receives (this module's `call_api` checks each one) is free
  of password hashes, token/API-key/bridge-token hashes, broker passwords and the like; tokens
  appear only in the one response that hands them out.
- What is stored is a hash: the raw API key, bridge token and password are nowhere in the tables.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from signalos.common.clock import iso, utc_now
from signalos.common.ids import new_id
from support.users import create_profile, user_headers

pytestmark = pytest.mark.usefixtures("aws_module")

V1 = "/api/v1"
PASSWORD = "correct horse battery"
# Keys that must never appear in a response body, at any depth.
SECRET_KEY = re.compile(r"hash|passw|secret|salt|signing|private|token_hash|key_hash", re.IGNORECASE)
# ...except a secret's name (health checks list `jwt_secret_arn`: healthy) and these paths (the last
# keys): the STS credentials handed to the bridge.
NAMES_A_SECRET = re.compile(r"_arn$")
ALLOWED_SECRET_PATHS = {("credentials", "secret_access_key")}
# Secrets that may appear only in the response of the route that issues them.
ISSUED_ONCE = {
    "api_key": {"/api/v1/auth/api-keys"},
    "bridge_token": {"/api/v1/bridge/register", "/api/v1/bridge/pair", "/api/v1/bridge/token/rotate"},
    "access_token": {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/refresh-token"},
    "refresh_token": {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/refresh-token"},
}
# Values that give a secret away whatever its key: an argon2 hash, a bare SHA-256 hex digest.
SECRET_VALUE = re.compile(r"^\$argon2|^[0-9a-f]{64}$")
SCANNED: list[str] = []


def secret_leaks(body: Any, route: str, path: tuple[str, ...] = ()) -> Iterator[str]:
    if isinstance(body, dict):
        for key, value in body.items():
            here = (*path, str(key))
            if SECRET_KEY.search(str(key)) and not NAMES_A_SECRET.search(str(key)) \
                    and here[-2:] not in ALLOWED_SECRET_PATHS:
                yield ".".join(here)
            if key in ISSUED_ONCE and route not in ISSUED_ONCE[key] and value is not None:
                yield ".".join(here)
            yield from secret_leaks(value, route, here)
    elif isinstance(body, list):
        for n, value in enumerate(body):
            yield from secret_leaks(value, route, (*path, str(n)))
    elif isinstance(body, str) and (SECRET_VALUE.search(body) or PASSWORD in body):
        yield ".".join(path) or "<body>"


@pytest.fixture
def call_api(call_api):
    """The shared call_api, checking every response it returns for secrets (module docstring)."""

    def checked(method: str, path: str, json: Any = None, headers: dict | None = None,
                query: Any = None, **kwargs: Any) -> tuple[int, dict, Any]:
        status, resp_headers, body = call_api(method, path, json=json, headers=headers, query=query, **kwargs)
        route = path.split("?", 1)[0]
        leaks = list(secret_leaks(body, route))
        assert not leaks, f"{method} {route} answered secrets at {leaks}: {body}"
        SCANNED.append(f"{method} {route} {status}")
        return status, resp_headers, body

    checked.raw = call_api.raw  # type: ignore[attr-defined]
    return checked


def ok(result: tuple[int, dict, Any], status: int = 200) -> Any:
    code, _, body = result
    assert code == status, body
    return body


def refused_field(result: tuple[int, dict, Any], field: str) -> None:
    status, _, body = result
    assert status == 422 and body["error"]["code"] == "VALIDATION_ERROR", body
    fields = {f["field"] for f in body["error"]["details"]["fields"]}
    assert f"body.{field}" in fields, body


def new_user() -> tuple[str, dict[str, str]]:
    uid = new_id("usr")
    create_profile(uid)
    return uid, user_headers(uid)


def admin() -> dict[str, str]:
    """An administrator as /auth/login would issue one (profile stored with role admin)."""
    from signalos.auth import data as auth_data
    from signalos.auth.licenses import license_for_tier
    from signalos.common.secrets import jwt_signing_key
    from signalos.common.tokens import issue_access_token

    uid = new_id("usr")
    auth_data.create_user({"user_id": uid, "username": uid, "role": "admin", "status": "active",
                           "license": license_for_tier("enterprise"), "created_at": iso()})
    token = issue_access_token(jwt_signing_key(), user_id=uid, username=uid, role="admin",
                               license_tier="enterprise", features=("signal_parsing", "auto_trading"),
                               license_expires_at=None, session_id=None).token
    return {"Authorization": f"Bearer {token}"}


def table_text(*logical_ids: str, aws) -> str:
    """Everything stored in these tables, as text (tests may scan; the code never does)."""
    ddb = aws.client("dynamodb")
    items = []
    for logical_id in logical_ids:
        pages = ddb.get_paginator("scan").paginate(TableName=aws.ref(logical_id))
        items += [item for page in pages for item in page["Items"]]
    return json.dumps(items)


# --- who may set what -----------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [
    {"role": "admin"}, {"license": {"tier": "enterprise"}}, {"license_type": "enterprise"},
    {"user_id": "usr_chosen"}, {"status": "active"}, {"password_hash": "$argon2id$v=19$x"},
    {"features": ["auto_trading"]},
])
def test_register_cannot_choose_role_license_or_identity(call_api, extra):
    username = f"prop_{uuid.uuid4().hex[:10]}"
    field = next(iter(extra))
    refused_field(call_api("POST", f"{V1}/auth/register", json={"username": username, "password": PASSWORD,
                                                                **extra}), field)
    # nothing was written: the name is still free, and a plain sign-up gets a plain user
    created = ok(call_api("POST", f"{V1}/auth/register", json={"username": username, "password": PASSWORD}),
                 201)["user"]
    assert created["role"] == "user" and created["user_id"] != "usr_chosen" and created["status"] == "active"
    assert created["license"]["tier"] != "enterprise"


@pytest.mark.parametrize("extra", [
    {"role": "admin"}, {"license": {"tier": "enterprise", "features": ["auto_trading"]}},
    {"license_type": "enterprise"}, {"user_id": "usr_other"}, {"username": "someone_else"},
    {"status": "active"}, {"password": "a new password 1"}, {"device_limit": 99},
])
def test_profile_patch_cannot_touch_role_license_identity_or_password(call_api, extra):
    uid, headers = new_user()
    before = ok(call_api("GET", f"{V1}/auth/profile", headers=headers))
    # an allowed change next to a forbidden one: refused as a whole (no half-written profile)
    result = call_api("PATCH", f"{V1}/auth/profile", headers=headers,
                      json={"full_name": "Changed Name", **extra})
    refused_field(result, next(iter(extra)))
    assert ok(call_api("GET", f"{V1}/auth/profile", headers=headers)) == before
    tier = ok(call_api("GET", f"{V1}/auth/license-status", headers=headers))["tier"]
    assert tier == before["license"]["tier"]
    patched = ok(call_api("PATCH", f"{V1}/auth/profile", headers=headers, json={"full_name": "Changed Name"}))
    assert patched["full_name"] == "Changed Name" and patched["role"] == "user" and patched["user_id"] == uid


def test_a_user_cannot_mint_admin_scoped_or_key_made_keys(call_api):
    _, headers = new_user()
    status, _, body = call_api("POST", f"{V1}/auth/api-keys", headers=headers,
                               json={"name": "root", "scopes": ["read", "write", "admin"]})
    assert status == 403 and body["error"]["code"] == "ADMIN_REQUIRED", body
    key = ok(call_api("POST", f"{V1}/auth/api-keys", headers=headers, json={"name": "k"}), 201)["api_key"]
    status, _, body = call_api("POST", f"{V1}/auth/api-keys", headers={"X-API-Key": key}, json={"name": "k2"})
    assert status == 403 and body["error"]["code"] == "JWT_REQUIRED", body
    assert [k["name"] for k in ok(call_api("GET", f"{V1}/auth/api-keys", headers=headers))["items"]] == ["k"]


@pytest.fixture
def two_traders(call_api) -> dict[str, Any]:
    """A and B, each with a private provider and a paper account of their own."""
    out: dict[str, Any] = {}
    for name in ("a", "b"):
        uid, headers = new_user()
        provider = ok(call_api("POST", f"{V1}/signals/providers", headers=headers, json={"name": name}), 201)
        register = {"name": name, "kind": "paper"}
        acc = ok(call_api("POST", f"{V1}/bridge/register", headers=headers, json=register), 201)
        out[name] = {"uid": uid, "h": headers, "provider": provider["provider_id"],
                     "account": acc["account_id"]}
    return out


def test_subscription_create_cannot_use_another_users_account_or_private_provider(call_api, two_traders):
    a, b = two_traders["a"], two_traders["b"]
    own = {"provider_id": b["provider"], "account_id": b["account"]}
    attempts = [
        ({**own, "account_id": a["account"]}, 404, "ACCOUNT_NOT_FOUND"),
        ({**own, "provider_id": a["provider"]}, 404, "PROVIDER_NOT_FOUND"),
        ({**own, "user_id": a["uid"]}, 422, "VALIDATION_ERROR"),
        ({**own, "provider_owner_id": a["uid"]}, 422, "VALIDATION_ERROR"),
    ]
    for body, status, code in attempts:
        got_status, _, got = call_api("POST", f"{V1}/subscriptions", headers=b["h"], json=body)
        assert (got_status, got["error"]["code"]) == (status, code), (body, got)
    for who in (a, b):
        assert ok(call_api("GET", f"{V1}/subscriptions", headers=who["h"]))["items"] == []
    # B's own provider on B's own account works (the refusals above were about ownership)
    mine = ok(call_api("POST", f"{V1}/subscriptions", headers=b["h"],
                       json={"provider_id": b["provider"], "account_id": b["account"]}), 201)
    assert (mine["provider_id"], mine["account_id"]) == (b["provider"], b["account"])
    # ... and cannot be re-pointed at A's account, provider or name afterwards
    for extra in ({"account_id": a["account"]}, {"provider_id": a["provider"]}, {"user_id": a["uid"]}):
        refused_field(call_api("PATCH", f"{V1}/subscriptions/{mine['subscription_id']}", headers=b["h"],
                               json=extra), next(iter(extra)))
    assert ok(call_api("GET", f"{V1}/subscriptions/{mine['subscription_id']}", headers=b["h"])) == mine


def test_public_providers_are_for_admins_only_and_subscribable_by_all(call_api, two_traders):
    a, b = two_traders["a"], two_traders["b"]
    status, _, body = call_api("POST", f"{V1}/signals/providers", headers=a["h"],
                               json={"name": "Free signals", "visibility": "public"})
    assert status == 403 and body["error"]["code"] == "PUBLIC_PROVIDER_ADMIN_ONLY", body
    status, _, body = call_api("PATCH", f"{V1}/signals/providers/{a['provider']}", headers=a["h"],
                               json={"visibility": "public"})
    assert status == 403, body
    kept = ok(call_api("GET", f"{V1}/signals/providers/{a['provider']}", headers=a["h"]))
    assert kept["visibility"] == "private"
    public = ok(call_api("POST", f"{V1}/signals/providers", headers=admin(),
                         json={"name": "House signals", "visibility": "public"}), 201)
    sub = ok(call_api("POST", f"{V1}/subscriptions", headers=b["h"],
                      json={"provider_id": public["provider_id"], "account_id": b["account"]}), 201)
    assert "provider_owner_id" not in sub and "user_id" not in sub
    # the public provider's settings stay its owner's
    assert call_api("GET", f"{V1}/signals/providers/{public['provider_id']}", headers=b["h"])[0] == 404
    assert call_api("PATCH", f"{V1}/signals/providers/{public['provider_id']}", headers=b["h"],
                    json={"name": "mine now"})[0] == 404


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/bridge/register", {"name": "x", "kind": "paper", "user_id": "{a}"}, "user_id"),
    ("/bridge/register", {"name": "x", "kind": "paper", "status": "active"}, "status"),
    ("/bridge/register", {"name": "x", "kind": "paper", "queue_url": "https://sqs/evil"}, "queue_url"),
    ("/bridge/register", {"name": "x", "kind": "paper", "token_hash": "0" * 64}, "token_hash"),
    ("/signals/providers", {"name": "x", "user_id": "{a}"}, "user_id"),
    ("/signals/parse-sync", {"text": "XAUUSD BUY NOW", "user_id": "{a}"}, "user_id"),
    ("/signals/parse", {"text": "XAUUSD BUY NOW", "user_id": "{a}"}, "user_id"),
    ("/trades/open", {"account_id": "acc_1", "symbol": "XAUUSD", "side": "buy", "volume": 0.1,
                      "user_id": "{a}"}, "user_id"),
    ("/trades/close", {"order_id": "ord_1", "user_id": "{a}"}, "user_id"),
    ("/trades/bulk-close", {"user_id": "{a}"}, "user_id"),
    ("/telegram/link-codes", {"provider_id": "prv_1", "user_id": "{a}"}, "user_id"),
    ("/analytics/report/pdf", {"user_id": "{a}"}, "user_id"),
    ("/auth/api-keys", {"name": "k", "user_id": "{a}"}, "user_id"),
])
def test_no_write_names_its_owner(call_api, two_traders, path, body, field):
    a, b = two_traders["a"], two_traders["b"]
    filled = {k: (a["uid"] if v == "{a}" else v) for k, v in body.items()}
    refused_field(call_api("POST", f"{V1}{path}", headers=b["h"], json=filled), field)
    assert len(ok(call_api("GET", f"{V1}/bridge/accounts", headers=a["h"]))["items"]) == 1
    assert len(ok(call_api("GET", f"{V1}/bridge/accounts", headers=b["h"]))["items"]) == 1


def test_a_registered_account_is_the_callers_with_its_own_queue(call_api, two_traders):
    b = two_traders["b"]
    acc = ok(call_api("GET", f"{V1}/bridge/accounts/{b['account']}", headers=b["h"]))
    assert acc["queue_url"].endswith(f"{b['account']}.fifo") and acc["has_bridge_token"] is True
    assert call_api("GET", f"{V1}/bridge/accounts/{b['account']}", headers=two_traders["a"]["h"])[0] == 404


# --- what responses and tables never hold ----------------------------------------------------------

def test_responses_of_every_credential_flow_carry_no_secrets(aws_module, call_api):
    """Sign-up, login, refresh, keys, bridge pairing/rotation/session, admin views: all scanned."""
    scanned_before = len(SCANNED)
    username = f"leak_{uuid.uuid4().hex[:10]}"
    ok(call_api("POST", f"{V1}/auth/register", json={"username": username, "password": PASSWORD}), 201)
    wrong = {"username": username, "password": PASSWORD + "x"}
    assert call_api("POST", f"{V1}/auth/login", json=wrong)[0] == 401
    tokens = ok(call_api("POST", f"{V1}/auth/login", json={"username": username, "password": PASSWORD,
                                                           "device_info": {"platform": "Windows"}}))
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    tokens = ok(call_api("POST", f"{V1}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}))
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    uid = tokens["user"]["user_id"]
    for path in ("/auth/profile", "/auth/license-status", "/auth/devices"):
        ok(call_api("GET", f"{V1}{path}", headers=headers))
    key = ok(call_api("POST", f"{V1}/auth/api-keys", headers=headers, json={"name": "ci"}), 201)
    ok(call_api("GET", f"{V1}/auth/api-keys", headers=headers))
    ok(call_api("GET", f"{V1}/auth/profile", headers={"X-API-Key": key["api_key"]}))
    acc = ok(call_api("POST", f"{V1}/bridge/register", headers=headers, json={
        "name": "live", "kind": "live", "broker_server": "Broker-Live", "login": 5551234}), 201)
    ok(call_api("GET", f"{V1}/bridge/accounts", headers=headers))
    ok(call_api("GET", f"{V1}/bridge/accounts/{acc['account_id']}", headers=headers))
    code = ok(call_api("POST", f"{V1}/bridge/pairing-code", headers=headers,
                       json={"account_id": acc["account_id"]}))
    paired = ok(call_api("POST", f"{V1}/bridge/pair", json={"code": code["code"]}))
    bridge = {"Authorization": f"Bearer {paired['bridge_token']}"}
    rotated = ok(call_api("POST", f"{V1}/bridge/token/rotate", headers=bridge))
    bridge = {"Authorization": f"Bearer {rotated['bridge_token']}"}
    session = ok(call_api("POST", f"{V1}/bridge/session", headers=bridge))
    assert session["credentials"]["secret_access_key"]  # the one secret the bridge is given, by design
    ok(call_api("POST", f"{V1}/bridge/heartbeat", headers=bridge, json={
        "account_id": acc["account_id"], "sent_at": iso(utc_now()), "balance": 5.0, "equity": 5.0,
        "margin_free": 5.0}))
    ok(call_api("GET", f"{V1}/trades/account", headers=headers, query={"account_id": acc["account_id"]}))
    boss = admin()
    ok(call_api("GET", f"{V1}/admin/users", headers=boss, query={"search": username}))
    ok(call_api("GET", f"{V1}/admin/users/{uid}", headers=boss))
    logs = ok(call_api("GET", f"{V1}/admin/logs", headers=boss, query={"user_id": uid, "limit": 100}))
    assert {e["event"] for e in logs["items"]} >= {"login_failed", "login_succeeded", "api_key_created"}
    ok(call_api("GET", f"{V1}/admin/system/status", headers=boss))

    # stored: hashes only (the raw key, tokens and password are nowhere in the tables)
    stored = table_text("UsersTable", "TradingTable", "AuditTable", aws=aws_module)
    for raw in (PASSWORD, key["api_key"], acc["bridge_token"], paired["bridge_token"],
                rotated["bridge_token"], tokens["refresh_token"]):
        assert raw not in stored
    assert '"$argon2id$v=19$m=' in stored  # the password is an Argon2id hash
    assert len(SCANNED) - scanned_before >= 20  # every response above went through the check


def test_password_hash_meets_the_owasp_argon2id_minimum(aws_module, call_api):
    from argon2 import extract_parameters

    username = f"argon_{uuid.uuid4().hex[:10]}"
    uid = ok(call_api("POST", f"{V1}/auth/register", json={"username": username, "password": PASSWORD}),
             201)["user"]["user_id"]
    from signalos.auth import data as auth_data

    params = extract_parameters(auth_data.get_user(uid)["password_hash"])
    assert params.type.name == "ID" and params.memory_cost >= 19 * 1024 and params.time_cost >= 2
    assert params.parallelism >= 1


def test_the_scanner_catches_what_it_is_for():
    """The response check above is only as good as this: it must see each kind of leak."""
    leaky = [
        {"user": {"password_hash": "x"}}, {"items": [{"key_hash": "x"}]}, {"account": {"token_hash": "x"}},
        {"mt5": {"password": "x"}}, {"broker_password": "x"}, {"secret": "x"},
        {"value": "$argon2id$v=19$m=1"},
        {"id": "a" * 64}, {"bridge_token": "sosb_x"}, {"api_key": "sos_x"}, {"note": f"pw {PASSWORD}"},
    ]
    for body in leaky:
        assert list(secret_leaks(body, "/api/v1/anything")), body
    assert not list(secret_leaks({"credentials": {"secret_access_key": "x"}}, "/api/v1/bridge/session"))
    assert not list(secret_leaks({"api_key": "sos_x", "prefix": "sos_AbCd"}, "/api/v1/auth/api-keys"))
