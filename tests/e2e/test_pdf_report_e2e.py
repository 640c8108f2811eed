"""From a paper fill to a PDF on disk, over real HTTP against the local stack.

A trade opened through the trades API fills on the paper broker and closes at its take profit;
the local stack's stream poller feeds the close to the aggregator; the analytics summary shows
it (with the starting equity taken from the bridge's reported balance); the PDF report is built
into the (moto server) bucket and downloaded through its presigned URL; poppler renders it and
its text carries the headline numbers.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from bridge_agent.local_demo import DemoAgent, start_demo_agent

A = "/api/v1/analytics"


def _wait(what: str, probe: Callable[[], Any], timeout: float = 45.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def trader(local_stack) -> dict[str, Any]:
    username, password = f"pdf_{uuid.uuid4().hex[:10]}", "correct horse battery staple"
    creds = {"username": username, "password": password}
    r = requests.post(f"{local_stack}/api/v1/auth/register", json=creds, timeout=30)
    assert r.status_code == 201, r.text
    r = requests.post(f"{local_stack}/api/v1/auth/login", json=creds, timeout=30)
    assert r.status_code == 200, r.text
    return {"username": username, "password": password,
            "headers": {"Authorization": f"Bearer {r.json()['access_token']}"}}


@pytest.fixture(scope="module")
def agent(local_stack, trader) -> Iterator[DemoAgent]:
    handle = start_demo_agent(str(local_stack), username=trader["username"], password=trader["password"],
                              prices={"XAUUSD": 1950.10}, heartbeat_seconds=1, poll_wait_seconds=1)
    try:
        yield handle
    finally:
        handle.stop()


def _get(local_stack, trader, path, **params):
    return requests.get(f"{local_stack}{path}", params=params, headers=trader["headers"], timeout=30)


def test_a_closed_paper_trade_ends_in_the_summary_and_the_pdf(local_stack, trader, agent, tmp_path):
    h = trader["headers"]
    _wait("a quote for XAUUSD", lambda: _get(local_stack, trader, "/api/v1/trades/symbols/XAUUSD",
                                             account_id=agent.account_id).status_code == 200)
    r = requests.post(f"{local_stack}/api/v1/trades/open", headers=h, timeout=30, json={
        "account_id": agent.account_id, "symbol": "XAUUSD", "side": "buy", "volume": 0.1, "sl": 1940.0,
        "tp": [1960.0]})
    assert r.status_code == 201, r.text
    (order,) = r.json()["orders"]

    def state(wanted: str):
        body = _get(local_stack, trader, f"/api/v1/trades/status/{order['order_id']}").json()
        return body if body.get("state") == wanted else None

    _wait("the paper fill", lambda: state("filled"))
    agent.broker.set_price("XAUUSD", 1960.50)
    closed = _wait("the close at TP", lambda: state("closed"))
    net = closed["net_profit"]
    assert net > 0

    def summary_with_the_trade():
        body = _get(local_stack, trader, f"{A}/summary").json()
        return body if body.get("total_trades") == 1 else None

    summary = _wait("the aggregator to fold the close", summary_with_the_trade)
    assert summary["total_pnl"] == pytest.approx(net, abs=0.005) and summary["win_rate"] == 100.0
    # The paper balance is 10,000 plus the trade's net: the starting equity recovered from it.
    balance_now = lambda: _get(local_stack, trader, "/api/v1/trades/account",  # noqa: E731
                               account_id=agent.account_id).json()["balance"]
    _wait("a heartbeat with the new balance", lambda: abs(balance_now() - (10_000 + net)) < 0.005)
    summary = _get(local_stack, trader, f"{A}/summary").json()
    assert summary["period"]["starting_equity_source"] == "heartbeat"
    assert summary["period"]["starting_equity"] == pytest.approx(10_000.0, abs=0.01)

    r = requests.post(f"{local_stack}{A}/report/pdf", headers=h, timeout=60,
                      json={"account_id": agent.account_id})
    assert r.status_code == 201, r.text
    report = r.json()
    pdf = requests.get(report["url"], timeout=30)  # the presigned URL, straight from the bucket
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers.get("Content-Type") == "application/pdf"
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    for expected in ("Trading performance report", "Paper demo (paper)", f"{net:+,.2f} USD", "100.0%",
                     "1 (1 W / 0 L)", "Closed trades", "XAUUSD", "BUY"):
        assert expected in text, expected
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")],
                   check=True)
    assert list(tmp_path.glob("p-*1.png"))

    creds = {"username": f"other_{uuid.uuid4().hex[:8]}", "password": "another long password"}
    assert requests.post(f"{local_stack}/api/v1/auth/register", json=creds, timeout=30).status_code == 201
    login = requests.post(f"{local_stack}/api/v1/auth/login", json=creds, timeout=30)
    stranger = {"Authorization": f"Bearer {login.json()['access_token']}"}
    r = requests.get(f"{local_stack}{A}/report/{report['report_id']}", headers=stranger, timeout=30)
    assert r.status_code == 404
