"""The PDF builder alone: edge cases render, the text layer carries the numbers."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta

from signalos.analytics.metrics import ClosedTrade, metrics_from_trades
from signalos.analytics.pdf import TRADES_PER_PAGE, BreakdownRow, ReportData, build_pdf, money, pct, ratio
from signalos.analytics.service import starting_equity_for


def text_of(content: bytes, tmp_path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils missing: run `make setup`"
    path = tmp_path / "r.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def report(trades, start, end, equity=5_000.0, **extra) -> ReportData:
    m = metrics_from_trades(trades, equity, start=start, end=end)
    return ReportData(report_id="rpt_X", owner="carol", account_label="Demo (paper)", period_start=start,
                      period_end=end, generated_at=datetime(2026, 11, 22, 9, tzinfo=UTC), metrics=m,
                      starting_equity_source="request", trades=trades, **extra)


def test_a_period_without_trades_still_makes_a_report(tmp_path):
    built = build_pdf(report([], date(2026, 11, 2), date(2026, 11, 6)))
    text = text_of(built.content, tmp_path)
    assert built.pages >= 2 and "No trades were closed in this period." in text
    assert text.count("No closed trades in this period") == 2  # placeholders instead of empty charts
    assert "n/a" in text and f"page 1 of {built.pages}" in text


def test_trade_pages_and_numbers(tmp_path):
    t0 = datetime(2026, 10, 5, 9, tzinfo=UTC)
    trades = [ClosedTrade(f"o{i}", t0 + timedelta(hours=7 * i), profit=(25.5 if i % 3 else -40.25),
                          volume=0.3, symbol="GBPUSD", provider_id="prv_q", side="sell", open_price=1.2650,
                          close_price=1.2610, pips=40.0) for i in range(TRADES_PER_PAGE * 2 + 5)]
    rows = [BreakdownRow("Quick Pips", len(trades), 66.7, 1234.5, 1.9, 3.2, 28.5)]
    built = build_pdf(report(trades, date(2026, 10, 5), date(2026, 11, 20), providers=rows,
                             provider_names={"prv_q": "Quick Pips"}))
    text = text_of(built.content, tmp_path)
    m = metrics_from_trades(trades, 5_000.0, start=date(2026, 10, 5), end=date(2026, 11, 20))
    assert money(m.total_pnl, signed=True) in text and pct(m.win_rate, 1) in text
    assert ratio(m.profit_factor) in text and "Quick Pips" in text and "-40.25" in text
    assert built.pages >= 2 + 3  # cover, risk, then three pages of trades
    assert text.count("Closed (UTC)") == 3  # the header repeats on every trade page


def test_number_formats():
    assert money(1234567.891, signed=True) == "+1,234,567.89" and money(None) == "n/a"
    assert pct(2.08540218) == "2.09%" and ratio(None) == "n/a"


def test_starting_equity_sources():
    from signalos.analytics.metrics import fold_days

    days = fold_days([ClosedTrade("a", datetime(2026, 11, 2, tzinfo=UTC), 300.0),
                      ClosedTrade("b", datetime(2026, 11, 10, tzinfo=UTC), -100.0)])
    assert starting_equity_for(days, date(2026, 11, 1), 7_500.0, 99.0) == (7_500.0, "request")
    # balance now 10,200 after +300 and -100 since the start: 10,000 at the start
    assert starting_equity_for(days, date(2026, 11, 1), None, 10_200.0) == (10_000.0, "heartbeat")
    # only the -100 falls after Nov 5: 10,300 then
    assert starting_equity_for(days, date(2026, 11, 5), None, 10_200.0) == (10_300.0, "heartbeat")
    assert starting_equity_for(days, date(2026, 11, 1), None, 150.0) == (10_000.0, "default")  # withdrawals
    assert starting_equity_for(days, date(2026, 11, 1), None, None)[1] == "default"
