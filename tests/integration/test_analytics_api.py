"""The analytics API through its Lambda handler on the embedded AWS.

Trades are written to TradingTable as the trading side writes them and reach the aggregates
through the template's stream trigger (aws.drain()), so the figures the API shows are the
hand-computed ones of tests/unit/analytics/test_analytics_metrics.py.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from signalos.common.clock import iso
from signalos.common.dynamo import Table

pytestmark = pytest.mark.usefixtures("aws_module")
A = "/api/v1/analytics"
# (order id, day of Nov 2026, profit, commission, swap, symbol, provider): net PnL 160 on 10,000.
TRADES = [
    ("t1", 2, 120, -5, 0, "XAUUSD", "prv_gold"), ("t2", 2, -40, -5, 0, "EURUSD", "prv_fx"),
    ("t3", 3, -200, -5, -5, "XAUUSD", "prv_gold"), ("t4", 5, 300, -5, 5, "XAUUSD", "prv_gold"),
    ("t5", 5, 5, -5, 0, "EURUSD", "prv_fx"), ("t6", 6, -100, 0, 0, "EURUSD", "prv_fx"),
    ("t7", 7, 50, 0, 0, "BTCUSD", "prv_gold"), ("t8", 9, 60, -10, 0, "XAUUSD", "prv_gold"),
]
PERIOD = {"start": "2026-11-02", "end": "2026-11-09", "starting_equity": "10000"}
_USERS: dict[str, tuple[str, dict]] = {}


def new_user(call_api, label: str) -> tuple[str, dict]:
    if label not in _USERS:
        name, pw = f"{label}_{uuid.uuid4().hex[:8]}", "correct horse battery"
        assert call_api("POST", "/api/v1/auth/register", json={"username": name, "password": pw})[0] == 201
        _, _, tokens = call_api("POST", "/api/v1/auth/login", json={"username": name, "password": pw})
        _USERS[label] = (tokens["user"]["id"], {"Authorization": f"Bearer {tokens['access_token']}"})
    return _USERS[label]


def closed_order(user_id: str, oid: str, day: int, profit, commission, swap, symbol, provider) -> dict:
    closed = datetime(2026, 11, day, 12, 0, tzinfo=UTC)
    opened = closed - timedelta(hours=1)
    return {
        "pk": f"USER#{user_id}", "sk": f"ORDER#{oid}", "entity": "order", "order_id": oid, "user_id": user_id,
        "account_id": "acc_main", "provider_id": provider, "signal_id": f"sig_{oid}", "symbol": symbol,
        "side": "buy", "order_type": "market", "volume": 0.1, "filled_volume": 0.1, "closed_volume": 0.1,
        "state": "closed", "version": 4, "signal_time": iso(opened - timedelta(milliseconds=800)),
        "created_at": iso(opened - timedelta(milliseconds=500)), "executed_at": iso(opened),
        "opened_at": iso(opened),
        "closed_at": iso(closed), "entry_price": 1950.0, "close_price": 1951.0, "profit": profit,
        "commission": commission, "swap": swap, "pips": 10.0, "close_reason": "tp",
    }


@pytest.fixture
def alice(aws_module, call_api):
    """A trader whose eight closed trades went through the stream into the aggregates (once)."""
    uid, headers = new_user(call_api, "alice")
    if "drained" not in _USERS:
        from signalos.signals.data import put_new_provider
        from signalos.signals.records import Provider

        now = datetime(2026, 10, 1, tzinfo=UTC)
        put_new_provider(Provider(provider_id="prv_gold", user_id=uid, name="Gold VIP", created_at=now,
                                  updated_at=now))
        trading = Table.from_env("TRADING_TABLE")
        for trade in TRADES:
            trading.put(closed_order(uid, *trade))
        aws_module.drain()
        _USERS["drained"] = ("", {})
    return uid, headers


@pytest.fixture
def bob(call_api):
    return new_user(call_api, "bob")


def get(call_api, path, headers, **query):
    return call_api("GET", f"{A}{path}", headers=headers, query=query or None)


def test_summary_shows_the_hand_computed_figures(call_api, alice):
    status, _, body = get(call_api, "/summary", alice[1], **PERIOD)
    assert status == 200, body
    assert (body["total_trades"], body["winning_trades"], body["losing_trades"]) == (8, 4, 3)
    assert body["win_rate"] == 50.0 and body["total_pnl"] == 160.0 and body["total_pnl_percentage"] == 1.6
    assert body["profit_factor"] == pytest.approx(1.4507, abs=1e-4)
    assert body["max_drawdown"] == pytest.approx(2.0854, abs=1e-4) and body["max_drawdown_amount"] == 210.0
    assert body["sharpe_ratio"] == pytest.approx(2.3747, abs=1e-4)
    assert body["sortino_ratio"] == pytest.approx(4.3309, abs=1e-4)
    assert body["calmar_ratio"] == pytest.approx(36.9625, abs=1e-4)
    assert body["expectancy"] == 20.0 and body["average_latency_ms"] == 800.0
    assert body["period"] == {"start": "2026-11-02", "end": "2026-11-09", "days": 7,
                              "starting_equity": 10000.0, "starting_equity_source": "request",
                              "ending_equity": 10160.0}


def test_performance_metrics_carry_the_worst_drawdown_and_definitions(call_api, alice):
    status, _, body = get(call_api, "/performance-metrics", alice[1], **PERIOD)
    assert status == 200, body
    assert body["worst_drawdown"] == {"amount": 210.0, "percent": pytest.approx(2.0854, abs=1e-4),
                                      "peak_date": "2026-11-02", "peak_equity": 10070.0,
                                      "trough_date": "2026-11-03", "trough_equity": 9860.0,
                                      "recovery_date": "2026-11-05"}
    assert body["gross_profit"] == 515.0 and body["gross_loss"] == -355.0 and body["commission"] == -35.0
    assert body["best_day"] == {"date": "2026-11-05", "pnl": 300.0, "trades": 2}
    assert "sqrt(252)" in body["definitions"]["sharpe_ratio"]


def test_chart_gives_the_equity_curve_and_monthly_pnl(call_api, alice):
    status, _, body = get(call_api, "/chart", alice[1], **PERIOD)
    assert status == 200, body
    assert [p["equity"] for p in body["equity_curve"]] == [10070, 9860, 9860, 10160, 10060, 10110, 10160]
    assert [p["date"] for p in body["daily_pnl"]][-2:] == ["2026-11-07", "2026-11-09"]
    november = {"month": "2026-11", "pnl": 160.0, "trades": 8, "wins": 4, "return_pct": 1.6}
    assert body["monthly_pnl"] == [november]
    status, _, gold = get(call_api, "/chart", alice[1], provider_id="prv_gold", **PERIOD)
    assert status == 200 and sum(p["trades"] for p in gold["daily_pnl"]) == 5


def test_providers_and_one_provider_with_signal_outcomes(call_api, alice):
    status, _, body = get(call_api, "/providers", alice[1], **PERIOD)
    assert status == 200, body
    by_id = {p["provider_id"]: p for p in body["items"]}
    assert set(by_id) == {"prv_gold", "prv_fx"} and body["next_cursor"] is None
    gold = by_id["prv_gold"]
    # gold: t1 115, t3 -210, t4 300, t7 50, t8 50 -> 305; fx: -45, 0, -100 -> -145
    assert gold["metrics"]["total_trades"] == 5 and gold["metrics"]["total_pnl"] == 305.0
    assert gold["name"] == "Gold VIP" and by_id["prv_fx"]["name"] is None
    assert by_id["prv_fx"]["metrics"]["total_pnl"] == -145.0
    assert [p["provider_id"] for p in body["items"]] == ["prv_gold", "prv_fx"]  # best first
    assert gold["signals"]["signals_planned"] == 5 and gold["signals"]["signals_traded"] == 5
    assert gold["signals"]["orders"]["filled"] == 5 and gold["signals"]["orders"]["closed"] == 5
    status, _, one = get(call_api, "/provider/prv_fx", alice[1], **PERIOD)  # traded, not owned: visible
    assert status == 200, one
    assert one["metrics"]["losing_trades"] == 2 and one["metrics"]["profit_factor"] == 0.0
    assert one["metrics"]["worst_drawdown"]["amount"] == 145.0


def test_symbol_breakdown(call_api, alice):
    status, _, body = get(call_api, "/symbol/xauusd", alice[1], **PERIOD)
    assert status == 200, body
    assert body["symbol"] == "XAUUSD" and body["metrics"]["total_trades"] == 4
    assert body["metrics"]["total_pnl"] == 255.0  # 115 - 210 + 300 + 50


def test_another_users_provider_and_data_are_invisible(call_api, alice, bob):
    status, _, body = get(call_api, "/provider/prv_gold", bob[1], **PERIOD)
    assert status == 404 and body["error"]["code"] == "PROVIDER_NOT_FOUND"
    status, _, body = get(call_api, "/summary", bob[1], **PERIOD)
    assert status == 200 and body["total_trades"] == 0 and body["total_pnl"] == 0.0
    status, _, body = get(call_api, "/providers", bob[1])
    assert status == 200 and body["items"] == []


def test_bad_requests_get_clear_errors(call_api, alice):
    assert get(call_api, "/summary", {})[0] == 401
    status, _, body = get(call_api, "/summary", alice[1], start="2026-11-09", end="2026-11-01")
    assert status == 400 and body["error"]["code"] == "INVALID_PERIOD"
    status, _, body = get(call_api, "/summary", alice[1], start="yesterday")
    assert status == 422 and body["error"]["details"]["fields"][0]["field"] == "query.start"
    status, _, body = get(call_api, "/summary", alice[1], starting_equity="-5")
    assert status == 422
    assert get(call_api, "/provider/bad id!", alice[1])[0] in (404, 422)


def test_pdf_report_renders_with_the_headline_numbers(aws_module, call_api, alice, bob, tmp_path):
    body_in = {"start": "2026-11-02", "end": "2026-11-09", "starting_equity": 10000}
    status, _, report = call_api("POST", f"{A}/report/pdf", headers=alice[1], json=body_in)
    assert status == 201, report
    assert report["pages"] >= 2 and report["trades"] == 8 and report["size_bytes"] > 5_000
    key = f"reports/{alice[0]}/{report['report_id']}.pdf"
    assert "X-Amz-Signature=" in report["url"] and key in report["url"]
    obj = aws_module.client("s3").get_object(Bucket=aws_module.ref("ReportsBucket"), Key=key)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(obj["Body"].read())
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    headline = ("+160.00 USD", "1.60%", "50.0%", "1.45", "2.09% (210.00)", "2.37", "4.33", "36.96",
                "10,160.00")
    for expected in ("Trading performance report", *headline, "Gold VIP", "XAUUSD", "Closed trades",
                     "2026-11-09 12:00"):
        assert expected in text, expected
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == report["pages"] and all(p.stat().st_size > 3_000 for p in pngs)

    status, _, again = get(call_api, f"/report/{report['report_id']}", alice[1])
    assert status == 200 and again["report_id"] == report["report_id"] and again["url"]
    status, _, body = get(call_api, f"/report/{report['report_id']}", bob[1])
    assert status == 404 and body["error"]["code"] == "REPORT_NOT_FOUND"


def test_poppler_is_installed():
    """The report tests render with Debian poppler-utils (`make setup` installs it)."""
    assert shutil.which("pdftotext") and shutil.which("pdftoppm")


def test_a_cut_trade_list_keeps_complete_breakdowns(call_api, alice, aws_module, tmp_path, monkeypatch):
    from signalos.analytics import pdf as pdf_module

    monkeypatch.setattr(pdf_module, "MAX_TRADES_LISTED", 3)
    status, _, report = call_api("POST", f"{A}/report/pdf", headers=alice[1],
                                 json={"start": "2026-11-02", "end": "2026-11-09", "starting_equity": 10000})
    assert status == 201, report
    key = f"reports/{alice[0]}/{report['report_id']}.pdf"
    path = tmp_path / "cut.pdf"
    obj = aws_module.client("s3").get_object(Bucket=aws_module.ref("ReportsBucket"), Key=key)
    path.write_bytes(obj["Body"].read())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "The first 3 of 8 trades, oldest first." in text
    gold = next(line for line in text.splitlines() if "Gold VIP" in line and "+305.00" in line)
    assert "80.0%" in gold  # from the day records: 5 trades, 4 won, +305.00


def test_a_report_for_someone_elses_account_is_404(call_api, alice):
    status, _, body = call_api("POST", f"{A}/report/pdf", headers=alice[1], json={"account_id": "acc_main"})
    assert status == 404 and body["error"]["code"] == "ACCOUNT_NOT_FOUND"
    status, _, body = call_api("POST", f"{A}/report/pdf", headers=alice[1],
                               json={"start": "2026-11-09", "end": "2026-11-01"})
    assert status == 422
