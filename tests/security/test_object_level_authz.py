"""Object-level authorization (OWASP API1): user B can neither read, change nor delete user A's
objects, and never learns whether they exist.

A builds one of everything through the real API (providers, a signal fanned out to a
subscription, an account with its bridge heartbeat, orders filled and closed by bridge reports,
an API key, a device, a PDF report, a Telegram chat link). Then, for every route that takes an
object id (checked against the OpenAPI document, so a new route cannot slip by), B asks for A's
object: the answer must be 404 (never 403, never 2xx) in the house error format, A's own view of
the object must be unchanged afterwards, and A's order queue must have received nothing.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from signalos.common.clock import iso, utc_now
from signalos.common.ids import new_id
from signalos.contracts.orders import OrderCommandEnvelope
from support.users import create_profile, user_headers

pytestmark = pytest.mark.usefixtures("aws_module")

V1 = "/api/v1"
SIGNAL_TEXT = "XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955 TP2 1960"
CHAT = {"id": -1001555000111, "title": "A's channel", "type": "channel"}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SPEC = {
    "symbol": "XAUUSD", "broker_symbol": "XAUUSD", "digits": 2, "point": 0.01, "volume_min": 0.01,
    "volume_max": 50.0, "volume_step": 0.01, "trade_tick_value": 1.0, "trade_tick_size": 0.01,
    "trade_contract_size": 100.0, "bid": 1949.7, "ask": 1950.0,
}
# Fields that differ between two reads of the same unchanged object.
VOLATILE = {"url", "url_expires_at", "age_seconds", "timestamp", "request_id"}
_UPDATE_IDS = itertools.count(810_000_000)


@dataclass
class World:
    """A's objects (ids), and how each side authenticates."""

    a_uid: str
    a: dict[str, str]
    b_uid: str
    b: dict[str, str]
    provider: str
    provider2: str
    signal: str
    signal2: str
    account: str
    queue_url: str
    bridge: dict[str, str]
    sub: str
    sub2: str
    order_live: str
    order_closed: str
    key_id: str
    api_key: str
    device: str
    report: str

    def ids(self) -> list[str]:
        return [self.provider, self.provider2, self.signal, self.signal2, self.account, self.sub, self.sub2,
                self.order_live, self.order_closed, self.key_id, self.device, self.report]


_WORLDS: dict[int, World | None] = {}


def ok(result: tuple[int, dict, Any], status: int = 200) -> Any:
    code, _, body = result
    assert code == status, body
    return body


def drain(aws, url: str) -> list[OrderCommandEnvelope]:
    sqs, out = aws.client("sqs"), []
    receive = {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0}
    while msgs := sqs.receive_message(**receive).get("Messages"):
        for m in msgs:
            out.append(OrderCommandEnvelope.parse_body(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def report(account: str, cmd: OrderCommandEnvelope, status: str, **extra: Any) -> dict[str, Any]:
    return {"report_id": f"{cmd.command_id}:{status}", "account_id": account, "command_id": cmd.command_id,
            "order_id": cmd.order_id, "status": status, "executed_at": iso(utc_now()), **extra}


def png() -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def build_world(aws, call_api) -> World:
    # A signs up and logs in from a machine (a device bound to A's license) like a real client.
    name, password = f"owner_{uuid.uuid4().hex[:8]}", "correct horse battery"
    ok(call_api("POST", f"{V1}/auth/register", json={"username": name, "password": password}), 201)
    login = ok(call_api("POST", f"{V1}/auth/login", json={
        "username": name, "password": password, "device_info": {"platform": "Windows", "hostname": "vps-a"}}))
    a_uid, a = login["user"]["id"], {"Authorization": f"Bearer {login['access_token']}"}
    b_uid = new_id("usr")
    create_profile(b_uid)

    provider = ok(call_api("POST", f"{V1}/signals/providers", headers=a, json={"name": "A gold"}), 201)
    provider2 = ok(call_api("POST", f"{V1}/signals/providers", headers=a, json={"name": "A fx"}), 201)
    acc = ok(call_api("POST", f"{V1}/bridge/register", headers=a, json={"name": "A", "kind": "paper"}), 201)
    bridge = {"Authorization": f"Bearer {acc['bridge_token']}"}
    ok(call_api("POST", f"{V1}/bridge/heartbeat", headers=bridge, json={
        "account_id": acc["account_id"], "sent_at": iso(utc_now()), "balance": 10_000.0, "equity": 10_000.0,
        "margin_free": 10_000.0, "symbols": [SPEC]}))
    subs = [ok(call_api("POST", f"{V1}/subscriptions", headers=a, json={
        "provider_id": p["provider_id"], "account_id": acc["account_id"], "rules": {"fixed_lot": 0.02}}), 201)
        for p in (provider, provider2)]

    # A's signal reaches A's account through the subscription: two legs (TP1, TP2).
    parsed = ok(call_api("POST", f"{V1}/signals/parse-sync", headers=a, json={
        "text": SIGNAL_TEXT, "provider_id": provider["provider_id"], "auto_execute": True}))
    assert parsed["execution"]["orders_enqueued"] == 2, parsed
    other = ok(call_api("POST", f"{V1}/signals/parse-sync", headers=a, json={"text": "Good morning traders"}))
    first, second = drain(aws, acc["queue_url"])
    # The bridge fills both legs; the first closes at TP (a closed trade for analytics).
    ok(call_api("POST", f"{V1}/bridge/reports", headers=bridge, json={"reports": [
        report(acc["account_id"], first, "filled", price=1950.0, volume=0.01, ticket=1),
        report(acc["account_id"], second, "filled", price=1950.0, volume=0.01, ticket=2),
        report(acc["account_id"], first, "closed", price=1955.0, volume=0.01, profit=5.0, commission=-0.1,
               swap=0.0, close_reason="tp", ticket=1),
    ]}))
    aws.drain()  # the TradingTable stream feeds the analytics aggregates
    refused = call_api("POST", f"{V1}/trades/open", headers=a, json={  # a stop on the wrong side
        "account_id": acc["account_id"], "symbol": "XAUUSD", "side": "buy", "volume": 0.01, "sl": 1990.0})
    assert refused[0] == 422 and refused[2]["error"]["code"] == "RISK_REJECTED", refused

    key = ok(call_api("POST", f"{V1}/auth/api-keys", headers=a, json={"name": "a-script"}), 201)
    pdf = ok(call_api("POST", f"{V1}/analytics/report/pdf", headers=a, json={}), 201)
    code = ok(call_api("POST", f"{V1}/telegram/link-codes", headers=a,
                       json={"provider_id": provider2["provider_id"]}), 201)
    secret = aws.secret_json("TelegramSecret")["webhook_secret"]
    post = {"message_id": 1, "chat": CHAT, "date": int(utc_now().timestamp()), "text": code["command"]}
    ok(call_api("POST", f"{V1}/telegram/webhook", headers={SECRET_HEADER: secret},
                json={"update_id": next(_UPDATE_IDS), "channel_post": post}))
    link = ok(call_api("GET", f"{V1}/telegram/links/{provider2['provider_id']}", headers=a))
    assert link["chat_id"] == CHAT["id"]

    return World(
        a_uid=a_uid, a=a, b_uid=b_uid, b=user_headers(b_uid), provider=provider["provider_id"],
        provider2=provider2["provider_id"], signal=parsed["signal_id"], signal2=other["signal_id"],
        account=acc["account_id"], queue_url=acc["queue_url"], bridge=bridge, sub=subs[0]["subscription_id"],
        sub2=subs[1]["subscription_id"], order_live=second.order_id, order_closed=first.order_id,
        key_id=key["key_id"], api_key=key["api_key"], device=login["device_id"], report=pdf["report_id"],
    )


@pytest.fixture
def w(aws_module, call_api) -> World:
    """A's world, built once per module; A's order queue is empty when each test starts."""
    if id(aws_module) not in _WORLDS:
        _WORLDS[id(aws_module)] = None  # a failed build fails every test at once, not once per test
        _WORLDS[id(aws_module)] = build_world(aws_module, call_api)
    world = _WORLDS[id(aws_module)]
    if world is None:
        pytest.fail("building A's objects failed (see the first error of this module)")
    drain(aws_module, world.queue_url)
    return world


def stable(body: Any) -> Any:
    """The body without the fields that change between two reads of an unchanged object."""
    if isinstance(body, dict):
        return {k: stable(v) for k, v in body.items() if k not in VOLATILE}
    if isinstance(body, list):
        return [stable(v) for v in body]
    return body


# --- every route that takes another user's object ------------------------------------------------

@dataclass(frozen=True)
class Case:
    """B's request for A's object (`{provider}` etc. are World fields) and the A read that shows it."""

    method: str
    route: str  # the OpenAPI path template the request exercises
    path: str
    owner_view: str
    body: dict[str, Any] | None = None


def P(**kw: Any) -> dict[str, Any]:
    return kw


CASES = [
    # signals and providers
    Case("GET", "/api/v1/signals/{signal_id}", "/signals/{signal}", "/signals/{signal}"),
    Case("POST", "/api/v1/signals/parse-sync", "/signals/parse-sync", "/signals/providers/{provider}",
         P(text=SIGNAL_TEXT, provider_id="{provider}", auto_execute=True)),
    Case("POST", "/api/v1/signals/parse", "/signals/parse", "/signals/providers/{provider}",
         P(text=SIGNAL_TEXT, provider_id="{provider}", auto_execute=True)),
    Case("POST", "/api/v1/signals/upload", "/signals/upload", "/signals/providers/{provider}",
         P(image="{png}", provider_id="{provider}", auto_execute=True)),
    Case("GET", "/api/v1/signals/providers/{provider_id}", "/signals/providers/{provider}",
         "/signals/providers/{provider}"),
    Case("PATCH", "/api/v1/signals/providers/{provider_id}", "/signals/providers/{provider}",
         "/signals/providers/{provider}", P(name="taken over", rules={"default_sl_pips": 1})),
    Case("PUT", "/api/v1/signals/providers/{provider_id}", "/signals/providers/{provider}",
         "/signals/providers/{provider}", P(name="taken over")),
    Case("DELETE", "/api/v1/signals/providers/{provider_id}", "/signals/providers/{provider}",
         "/signals/providers/{provider}"),
    # telegram links (provider2 is linked to A's chat)
    Case("POST", "/api/v1/telegram/link-codes", "/telegram/link-codes", "/telegram/links/{provider2}",
         P(provider_id="{provider2}")),
    Case("POST", "/api/v1/telegram/links", "/telegram/links", "/telegram/links/{provider2}",
         P(provider_id="{provider2}", chat_id=-1001000000999)),
    Case("GET", "/api/v1/telegram/links/{provider_id}", "/telegram/links/{provider2}",
         "/telegram/links/{provider2}"),
    Case("DELETE", "/api/v1/telegram/links/{provider_id}", "/telegram/links/{provider2}",
         "/telegram/links/{provider2}"),
    # subscriptions
    Case("GET", "/api/v1/subscriptions/{subscription_id}", "/subscriptions/{sub}", "/subscriptions/{sub}"),
    Case("PATCH", "/api/v1/subscriptions/{subscription_id}", "/subscriptions/{sub}", "/subscriptions/{sub}",
         P(enabled=False, rules={"fixed_lot": 50})),
    Case("DELETE", "/api/v1/subscriptions/{subscription_id}", "/subscriptions/{sub}", "/subscriptions/{sub}"),
    # orders and trading on A's account
    Case("GET", "/api/v1/trades/{order_id}", "/trades/{order_live}", "/trades/{order_live}"),
    Case("GET", "/api/v1/trades/status/{order_id}", "/trades/status/{order_closed}",
         "/trades/{order_closed}"),
    Case("POST", "/api/v1/trades/close", "/trades/close", "/trades/{order_live}", P(order_id="{order_live}")),
    Case("POST", "/api/v1/trades/close", "/trades/close", "/trades/{order_live}",
         P(order_ids=["{order_live}"], fraction=0.5)),
    Case("POST", "/api/v1/trades/modify", "/trades/modify", "/trades/{order_live}",
         P(order_id="{order_live}", sl=1.0, tp=9999.0)),
    Case("POST", "/api/v1/trades/open", "/trades/open", "/trades/account?account_id={account}",
         P(account_id="{account}", symbol="XAUUSD", side="buy", volume=1.0, sl=1940.0, tp=[1960.0])),
    Case("GET", "/api/v1/trades/account", "/trades/account?account_id={account}",
         "/trades/account?account_id={account}"),
    Case("GET", "/api/v1/trades/symbols/{symbol}", "/trades/symbols/XAUUSD?account_id={account}",
         "/trades/symbols/XAUUSD?account_id={account}"),
    # trading accounts and their bridge tokens
    Case("GET", "/api/v1/bridge/accounts/{account_id}", "/bridge/accounts/{account}",
         "/bridge/accounts/{account}"),
    Case("DELETE", "/api/v1/bridge/accounts/{account_id}", "/bridge/accounts/{account}",
         "/bridge/accounts/{account}"),
    Case("DELETE", "/api/v1/bridge/accounts/{account_id}/token", "/bridge/accounts/{account}/token",
         "/bridge/accounts/{account}"),
    Case("POST", "/api/v1/bridge/token/rotate", "/bridge/token/rotate", "/bridge/accounts/{account}",
         P(account_id="{account}")),
    Case("POST", "/api/v1/bridge/pairing-code", "/bridge/pairing-code", "/bridge/accounts/{account}",
         P(account_id="{account}")),
    # credentials and devices
    Case("DELETE", "/api/v1/auth/api-keys/{key_id}", "/auth/api-keys/{key_id}", "/auth/api-keys"),
    Case("DELETE", "/api/v1/auth/devices/{device_id}", "/auth/devices/{device}", "/auth/devices"),
    # analytics
    Case("GET", "/api/v1/analytics/report/{report_id}", "/analytics/report/{report}",
         "/analytics/report/{report}"),
    Case("POST", "/api/v1/analytics/report/pdf", "/analytics/report/pdf", "/analytics/summary",
         P(account_id="{account}")),
    Case("GET", "/api/v1/analytics/provider/{provider_id}", "/analytics/provider/{provider}",
         "/analytics/provider/{provider}"),
    Case("GET", "/api/v1/analytics/chart", "/analytics/chart?provider_id={provider}",
         "/analytics/chart?provider_id={provider}"),
]
# Routes with an id in the path that name no object of another user (checked elsewhere).
NOT_USER_OBJECTS = {
    ("GET", "/api/v1/analytics/symbol/{symbol}"),  # the caller's own results on a symbol: see filters below
    ("GET", "/api/v1/admin/users/{user_id}"),  # admins only (function-level test below)
    ("PUT", "/api/v1/admin/users/{user_id}"),
    ("DELETE", "/api/v1/admin/users/{user_id}"),
}


def fill(template: Any, world: World) -> Any:
    if isinstance(template, str):
        if template == "{png}":
            return png()
        return re.sub(r"\{(\w+)\}", lambda m: str(getattr(world, m.group(1))), template)
    if isinstance(template, dict):
        return {k: fill(v, world) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, world) for v in template]
    return template


def assert_not_found(result: tuple[int, dict, Any], context: Any) -> None:
    status, headers, body = result
    assert status == 404, (context, status, body)
    assert headers["content-type"].startswith("application/json")
    assert set(body) == {"error"} and body["error"]["code"].endswith("NOT_FOUND"), body
    assert set(body["error"]) >= {"code", "message", "details", "timestamp", "request_id"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path}")
def test_another_users_object_is_not_found_and_stays_unchanged(aws_module, call_api, w, case):
    owner_view = fill(case.owner_view, w)
    before = ok(call_api("GET", f"{V1}{owner_view}", headers=w.a))
    result = call_api(case.method, f"{V1}{fill(case.path, w)}", headers=w.b, json=fill(case.body, w))
    assert_not_found(result, case)
    assert stable(ok(call_api("GET", f"{V1}{owner_view}", headers=w.a))) == stable(before)
    assert aws_module.queue_depth(w.queue_url) == 0  # nothing was sent to A's bridge


def test_the_cases_cover_every_route_that_takes_an_object(call_api):
    """A route added with an id in its path, or a body naming an object, must get a case here."""
    spec = ok(call_api("GET", "/api/openapi.json"))
    covered = {(c.method, c.route) for c in CASES}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            key = (method.upper(), path)
            if "{" in path:
                assert key in covered | NOT_USER_OBJECTS, f"no cross-user case for {key}"
            body = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {})
            ref = (body.get("schema") or {}).get("$ref", "")
            props = spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
            named = NAMED_IDS & set(props)
            if named and path not in BRIDGE_TOKEN_ROUTES:
                assert key in covered | FILTER_ROUTES, f"no cross-user case for {key} (body names {named})"


NAMED_IDS = {"provider_id", "account_id", "order_id", "order_ids", "subscription_id", "signal_id"}
# The bridge's own account is its token's: a body naming another is refused (test further down).
BRIDGE_TOKEN_ROUTES = {"/api/v1/bridge/heartbeat", "/api/v1/bridge/reports"}
# Routes whose body or query names an object only to narrow the caller's own data (tested below).
FILTER_ROUTES = {
    ("POST", "/api/v1/trades/bulk-close"),
    ("POST", "/api/v1/signals/import"),
    ("POST", "/api/v1/subscriptions"),  # tests/security/test_property_level_authz.py
}


# --- filters, lists and cursors -------------------------------------------------------------------

def test_filters_naming_another_users_objects_show_nothing_of_theirs(call_api, w):
    """A filter naming A's object answers exactly as one naming an id that does not exist."""
    unknown = {"provider": new_id("prv"), "account": new_id("acc"), "signal": new_id("sig")}
    for path, params in [
        ("/signals/history", {"provider_id": "provider"}),
        ("/trades/history", {"account_id": "account"}),
        ("/analytics/summary", {"account_id": "account"}),
        ("/analytics/performance-metrics", {"account_id": "account"}),
        ("/analytics/chart", {"account_id": "account"}),
    ]:
        theirs = {k: getattr(w, v) for k, v in params.items()}
        nobodys = {k: unknown[v] for k, v in params.items()}
        status, _, body = call_api("GET", f"{V1}{path}", headers=w.b, query=theirs)
        assert status in (200, 404), (path, body)
        assert not set(w.ids()) & set(re.findall(r"[a-z]{3}_[A-Za-z0-9_\-]+", json.dumps(body))), (path, body)
        assert stable(body) == stable(call_api("GET", f"{V1}{path}", headers=w.b, query=nobodys)[2]), path
    for path in ("/analytics/symbol/XAUUSD", "/analytics/providers", "/analytics/summary"):
        body = ok(call_api("GET", f"{V1}{path}", headers=w.b))
        assert (body.get("metrics") or body).get("total_trades", 0) == 0 and body.get("items", []) == [], body
    # ... and A does see them (so the checks above could fail).
    assert ok(call_api("GET", f"{V1}/analytics/summary", headers=w.a))["total_trades"] == 1
    assert ok(call_api("GET", f"{V1}/analytics/symbol/XAUUSD", headers=w.a))["metrics"]["total_trades"] == 1


def test_bulk_close_naming_another_users_account_closes_nothing(aws_module, call_api, w):
    before = ok(call_api("GET", f"{V1}/trades/{w.order_live}", headers=w.a))
    for body in ({"account_id": w.account}, {"signal_id": w.signal}, {"symbol": "XAUUSD"}, {}):
        got = ok(call_api("POST", f"{V1}/trades/bulk-close", headers=w.b, json=body))
        assert got["command_ids"] == [] and got["order_ids"] == [], got
    assert aws_module.queue_depth(w.queue_url) == 0
    assert ok(call_api("GET", f"{V1}/trades/{w.order_live}", headers=w.a)) == before


def test_importing_into_another_users_provider_stores_nothing_there(call_api, w):
    history = {"provider_id": w.provider, "limit": 100}
    before = ok(call_api("GET", f"{V1}/signals/history", headers=w.a, query=history))
    lines = "\n".join(json.dumps({"text": SIGNAL_TEXT, "provider_id": p}) for p in (w.provider, w.provider2))
    for payload in ({"format": "jsonl", "content": lines},
                    {"format": "csv", "content": f"text\n{SIGNAL_TEXT}\n", "provider_id": w.provider}):
        got = ok(call_api("POST", f"{V1}/signals/import", headers=w.b, json=payload))
        assert got["ok"] == 0 and got["errors"] == got["total"] >= 1, got
        assert all(line["status"] == "error" and line["signal_id"] is None for line in got["lines"])
    assert ok(call_api("GET", f"{V1}/signals/history", headers=w.a, query=history)) == before


def test_lists_show_none_of_another_users_objects(call_api, w):
    lists = ["/signals/providers", "/signals/history", "/subscriptions", "/trades/history",
             "/trades/rejections", "/bridge/accounts", "/auth/api-keys", "/auth/devices", "/telegram/links",
             "/analytics/providers"]
    mine = ok(call_api("POST", f"{V1}/signals/providers", headers=w.b, json={"name": "B's own"}), 201)
    for path in lists:
        body = ok(call_api("GET", f"{V1}{path}", headers=w.b))
        text = json.dumps(body)
        assert not [i for i in w.ids() if i in text], (path, body)
    assert mine["provider_id"] in json.dumps(ok(call_api("GET", f"{V1}/signals/providers", headers=w.b)))
    for path in lists[:-1]:  # A's own lists do hold A's objects (so the check above could fail)
        assert any(i in json.dumps(ok(call_api("GET", f"{V1}{path}", headers=w.a))) for i in w.ids()), path


@pytest.mark.parametrize("path", ["/signals/providers", "/signals/history", "/subscriptions",
                                  "/trades/history"])
def test_another_users_cursor_is_refused(call_api, w, path):
    page = ok(call_api("GET", f"{V1}{path}", headers=w.a, query={"limit": 1}))
    assert page["next_cursor"], page  # A has two of each
    query = {"limit": 1, "cursor": page["next_cursor"]}
    status, _, body = call_api("GET", f"{V1}{path}", headers=w.b, query=query)
    assert status == 400 and body["error"]["code"] == "INVALID_CURSOR", body


# --- bridge credentials of another account ---------------------------------------------------------

def test_another_accounts_bridge_token_cannot_report_or_heartbeat_for_a(call_api, w):
    mine = ok(call_api("POST", f"{V1}/bridge/register", headers=w.b, json={"name": "B", "kind": "demo"}), 201)
    b_bridge = {"Authorization": f"Bearer {mine['bridge_token']}"}
    account_before = ok(call_api("GET", f"{V1}/trades/account", headers=w.a, query={"account_id": w.account}))
    order_before = ok(call_api("GET", f"{V1}/trades/{w.order_live}", headers=w.a))
    beat = {"sent_at": iso(utc_now()), "balance": 1.0, "equity": 1.0, "margin_free": 1.0}
    theirs, nobodys = (call_api("POST", f"{V1}/bridge/heartbeat", headers=b_bridge,
                                json={**beat, "account_id": acc}) for acc in (w.account, new_id("acc")))
    assert theirs[0] == nobodys[0] == 403 and theirs[2]["error"]["code"] == nobodys[2]["error"]["code"]
    closing = {"report_id": f"forged-{uuid.uuid4().hex}", "account_id": w.account, "command_id": "cmd_forged",
               "order_id": w.order_live, "status": "closed", "price": 1.0, "volume": 0.01, "profit": -9999.0,
               "close_reason": "manual", "executed_at": iso(utc_now())}
    as_mine = {**closing, "report_id": f"forged-{uuid.uuid4().hex}", "account_id": mine["account_id"]}
    for forged in (closing, as_mine):
        got = ok(call_api("POST", f"{V1}/bridge/reports", headers=b_bridge, json={"reports": [forged]}))
        assert got["results"][0]["status"] in ("rejected", "duplicate"), got
        assert got["results"][0]["status"] != "applied"
    assert ok(call_api("GET", f"{V1}/trades/{w.order_live}", headers=w.a)) == order_before
    after = ok(call_api("GET", f"{V1}/trades/account", headers=w.a, query={"account_id": w.account}))
    assert stable(after) == stable(account_before)


def test_a_api_key_survives_bs_revoke_attempt(call_api, w):
    assert_not_found(call_api("DELETE", f"{V1}/auth/api-keys/{w.key_id}", headers=w.b), "revoke")
    assert ok(call_api("GET", f"{V1}/auth/profile", headers={"X-API-Key": w.api_key}))["user_id"] == w.a_uid


# --- function level: who may call what at all -----------------------------------------------------

PUBLIC = {
    ("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/refresh-token"),
    ("POST", "/api/v1/auth/refresh"), ("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/bridge/pair"),
    ("POST", "/api/v1/telegram/webhook"), ("POST", "/api/v1/bridge/token/rotate"),
}


def _openapi_routes(call_api) -> list[tuple[str, str]]:
    spec = ok(call_api("GET", "/api/openapi.json"))
    return [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]


def _empty_body(method: str) -> dict[str, Any] | None:
    return {} if method in ("POST", "PUT", "PATCH") else None


def _concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", "x_1", path)


def test_every_route_demands_credentials_unless_it_is_public(call_api):
    """No credentials: 401 from every route but the public ones (before the body is even validated)."""
    for method, path in _openapi_routes(call_api):
        status_route = path.startswith(("/health", "/ready", "/version", "/api/v1/status"))
        if (method, path) in PUBLIC or (status_route and not path.endswith("metrics")):
            continue
        status, _, body = call_api(method, _concrete(path), json=_empty_body(method))
        assert status == 401, (method, path, status, body)


def test_admin_routes_refuse_a_plain_user(call_api, w):
    routes = [(m, p) for m, p in _openapi_routes(call_api)
              if p.startswith("/api/v1/admin") or p.endswith("/metrics")]
    assert len(routes) >= 10
    for method, path in routes:
        status, _, body = call_api(method, _concrete(path), headers=w.b, json=_empty_body(method))
        assert (status, body["error"]["code"]) == (403, "ADMIN_REQUIRED"), (method, path, body)
