"""A paper bridge agent against the local stack over real HTTP and the embedded AWS (moto server).

A user registers, the agent registers a paper account for them and runs (session credentials,
the account's own FIFO queue, heartbeats, reports). A Telegram-shaped channel post to the
webhook becomes a parsed signal, orders on the account's queue, and paper fills the trades API
shows; a trade opened through the trades API is filled and then closed at its take profit.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from bridge_agent.local_demo import DemoAgent, start_demo_agent


def _wait(what: str, probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def set_market(local_stack: str, trader: dict[str, Any], agent: DemoAgent, mid: float) -> None:
    """Fix the paper price and wait until a heartbeat has told the API (risk guards use that quote)."""
    agent.broker.set_price("XAUUSD", mid)
    bid = round(mid - 0.10, 2)

    def reported() -> bool:
        r = requests.get(
            f"{local_stack}/api/v1/trades/symbols/XAUUSD",
            params={"account_id": agent.account_id},
            headers=trader["headers"],
            timeout=30,
        )
        return r.status_code == 200 and r.json()["bid"] == bid

    _wait(f"a heartbeat with XAUUSD at {mid}", reported)


@pytest.fixture(scope="module")
def trader(local_stack) -> dict[str, Any]:
    username, password = f"paper_{uuid.uuid4().hex[:10]}", "correct horse battery staple"
    r = requests.post(
        f"{local_stack}/api/v1/auth/register", json={"username": username, "password": password}, timeout=30
    )
    assert r.status_code in (200, 201), r.text
    r = requests.post(
        f"{local_stack}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30
    )
    assert r.status_code == 200, r.text
    return {
        "username": username,
        "password": password,
        "headers": {"Authorization": f"Bearer {r.json()['access_token']}"},
    }


@pytest.fixture(scope="module")
def agent(local_stack, trader) -> Iterator[DemoAgent]:
    handle = start_demo_agent(
        str(local_stack),
        username=trader["username"],
        password=trader["password"],
        prices={"XAUUSD": 1950.10},
        heartbeat_seconds=1,
        poll_wait_seconds=1,
    )
    try:
        yield handle
    finally:
        handle.stop()
    assert not handle.thread.is_alive()


def test_agent_heartbeat_reaches_the_api(local_stack, trader, agent):
    def heartbeat():
        r = requests.get(
            f"{local_stack}/api/v1/trades/account",
            params={"account_id": agent.account_id},
            headers=trader["headers"],
            timeout=30,
        )
        return r.json() if r.status_code == 200 and r.json()["heartbeat"] else None

    body = _wait("the first heartbeat", heartbeat)
    assert (body["balance"], body["currency"], body["broker"], body["kind"]) == (
        10_000.0,
        "USD",
        "paper",
        "paper",
    )
    r = requests.get(
        f"{local_stack}/api/v1/trades/symbols/XAUUSD",
        params={"account_id": agent.account_id},
        headers=trader["headers"],
        timeout=30,
    )
    assert r.status_code == 200, r.text
    spec = r.json()
    assert (spec["broker_symbol"], spec["digits"], spec["trade_contract_size"]) == ("XAUUSD", 2, 100.0)


def test_a_trade_is_filled_on_paper_and_closed_at_its_take_profit(local_stack, trader, agent):
    set_market(local_stack, trader, agent, 1950.10)
    _wait(
        "symbol spec",
        lambda: (
            requests.get(
                f"{local_stack}/api/v1/trades/symbols/XAUUSD",
                params={"account_id": agent.account_id},
                headers=trader["headers"],
                timeout=30,
            ).status_code
            == 200
        ),
    )
    r = requests.post(
        f"{local_stack}/api/v1/trades/open",
        json={
            "account_id": agent.account_id,
            "symbol": "XAUUSD",
            "side": "buy",
            "volume": 0.1,
            "sl": 1940.0,
            "tp": [1960.0],
        },
        headers=trader["headers"],
        timeout=30,
    )
    assert r.status_code == 201, r.text
    (order,) = r.json()["orders"]

    def state(wanted: str):
        resp = requests.get(
            f"{local_stack}/api/v1/trades/status/{order['order_id']}", headers=trader["headers"], timeout=30
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        return body if body["state"] == wanted else None

    filled = _wait("the paper fill", lambda: state("filled"))
    assert filled["entry_price"] == 1950.20  # the paper ask: 1950.10 mid + half of 20 points
    assert filled["ticket"] == agent.broker.positions()[0].ticket

    agent.broker.set_price("XAUUSD", 1960.50)  # bid 1960.40 >= TP 1960
    closed = _wait("the close at TP", lambda: state("closed"))
    assert closed["close_reason"] == "tp"
    assert closed["profit"] == pytest.approx((1960.40 - 1950.20) * 100 * 0.1)
    assert agent.broker.positions() == []
    # The journal has nothing left to deliver once the agent has the API's answer.
    _wait("the outbox to empty", lambda: agent.runner.journal.pending_reports() == [])


def test_the_demo_agent_runs_for_the_seeded_admin(local_stack):
    """What `make run` starts (infra/local/extras.py): a paper agent for the seeded admin user."""
    handle = start_demo_agent(
        str(local_stack),
        username=local_stack.admin_username,
        password=local_stack.admin_password,
        heartbeat_seconds=1,
        poll_wait_seconds=1,
    )
    try:
        login = requests.post(
            f"{local_stack}/api/v1/auth/login",
            timeout=30,
            json={"username": local_stack.admin_username, "password": local_stack.admin_password},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        def heartbeat():
            r = requests.get(
                f"{local_stack}/api/v1/trades/account",
                params={"account_id": handle.account_id},
                headers=headers,
                timeout=30,
            )
            return r.status_code == 200 and r.json()["heartbeat"]

        assert _wait("the admin's paper agent heartbeat", heartbeat)
    finally:
        handle.stop()


HOOK = "/api/v1/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_update_ids = itertools.count(910_000_000)
_message_ids = itertools.count(1)


def channel_post(chat: dict[str, Any], text: str) -> dict[str, Any]:
    message = {"message_id": next(_message_ids), "chat": chat, "date": int(time.time()), "text": text}
    return {"update_id": next(_update_ids), "channel_post": message}


@pytest.fixture(scope="module")
def wired_channel(local_stack, trader, agent) -> dict[str, Any]:
    """A provider linked to a Telegram channel, subscribed by the agent's paper account."""
    h = trader["headers"]
    r = requests.post(
        f"{local_stack}/api/v1/signals/providers", json={"name": "Gold VIP"}, headers=h, timeout=30
    )
    assert r.status_code == 201, r.text
    provider_id = r.json()["provider_id"]
    chat = {"id": -1001000000000 - int(uuid.uuid4().int % 10**8), "title": "Gold VIP", "type": "channel"}
    r = requests.post(
        f"{local_stack}/api/v1/telegram/link-codes", json={"provider_id": provider_id}, headers=h, timeout=30
    )
    assert r.status_code == 201, r.text
    secret = {SECRET_HEADER: local_stack.webhook_secret}
    r = requests.post(
        f"{local_stack}{HOOK}", json=channel_post(chat, r.json()["command"]), headers=secret, timeout=30
    )
    assert r.status_code == 200, r.text
    r = requests.post(
        f"{local_stack}/api/v1/subscriptions",
        headers=h,
        timeout=30,
        json={
            "provider_id": provider_id,
            "account_id": agent.account_id,
            "rules": {"sizing_mode": "fixed_lot", "fixed_lot": 0.02},
        },
    )
    assert r.status_code == 201, r.text
    return {"chat": chat, "secret": secret, "provider_id": provider_id}


def test_a_telegram_post_ends_in_paper_fills_in_the_trades_api(local_stack, trader, agent, wired_channel):
    set_market(local_stack, trader, agent, 1950.10)
    text = "XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955 TP2 1960"
    r = requests.post(
        f"{local_stack}{HOOK}",
        json=channel_post(wired_channel["chat"], text),
        headers=wired_channel["secret"],
        timeout=30,
    )
    assert r.status_code == 200, r.text

    def filled_orders():
        resp = requests.get(
            f"{local_stack}/api/v1/trades/history",
            params={"account_id": agent.account_id},
            headers=trader["headers"],
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        ours = [o for o in resp.json()["items"] if o.get("provider_id") == wired_channel["provider_id"]]
        return ours if len(ours) == 2 and all(o["state"] == "filled" for o in ours) else None

    try:
        legs = _wait("both legs filled on paper", filled_orders)
    except AssertionError:
        h = trader["headers"]
        history = requests.get(f"{local_stack}/api/v1/trades/history", headers=h, timeout=30).json()
        rejections = requests.get(f"{local_stack}/api/v1/trades/rejections", headers=h, timeout=30).json()
        signals = requests.get(f"{local_stack}/api/v1/signals/history", headers=h, timeout=30).json()
        raise AssertionError(
            f"no paper fills\nhistory: {history}\nrejections: {rejections}\nsignals: {signals}\n"
            f"stack: {local_stack.output()[-3000:]}"
        ) from None
    assert sorted(o["take_profit"] for o in legs) == [1955.0, 1960.0]
    assert {o["stop_loss"] for o in legs} == {1940.0}
    assert {o["entry_price"] for o in legs} == {1950.20}
    assert sum(o["filled_volume"] for o in legs) == pytest.approx(0.02)
    assert {o["signal_id"] for o in legs} != {None}
    tickets = {p.ticket for p in agent.broker.positions()}
    assert {o["ticket"] for o in legs} <= tickets
