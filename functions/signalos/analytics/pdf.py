"""The PDF performance report: pure (metrics, breakdowns and trades in, PDF bytes out).

reportlab is imported here only; nothing on the other analytics paths imports this module.

Layout (A4 portrait):
1. Cover: title, account, period, owner, generation time; the headline metrics; the equity
   curve with the drawdown underneath; monthly PnL bars (green gains, red losses).
2. Risk: the worst drawdown (peak, trough, recovery), best and worst day; per-provider and
   per-symbol tables.
3. The closed trades, oldest first, 44 to a page with the header repeated (capped at
   MAX_TRADES_LISTED; the list says when it was cut).
Every page has a footer with the report id and "page n of N".
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from signalos.analytics.metrics import ClosedTrade, PerformanceMetrics

MAX_TRADES_LISTED = 20_000
TRADES_PER_PAGE = 44
INK = colors.HexColor("#1B2430")
MUTED = colors.HexColor("#6B7785")
ACCENT = colors.HexColor("#1F6FEB")
GAIN = colors.HexColor("#1A7F37")
LOSS = colors.HexColor("#CF222E")
RULE = colors.HexColor("#D0D7DE")
ZEBRA = colors.HexColor("#F6F8FA")


@dataclass(frozen=True)
class BreakdownRow:
    """One line of the per-provider or per-symbol table."""

    name: str
    trades: int
    win_rate: float | None
    pnl: float
    profit_factor: float | None
    max_drawdown_pct: float
    volume: float


@dataclass
class ReportData:
    report_id: str
    owner: str
    account_label: str
    period_start: date
    period_end: date
    generated_at: datetime
    metrics: PerformanceMetrics
    starting_equity_source: str
    currency: str = "USD"
    title: str = "Trading performance report"
    providers: list[BreakdownRow] = field(default_factory=list)
    symbols: list[BreakdownRow] = field(default_factory=list)
    trades: Sequence[ClosedTrade] = ()
    trades_total: int | None = None  # when `trades` was cut, how many there were
    provider_names: dict[str, str] = field(default_factory=dict)  # provider_id -> name


@dataclass(frozen=True)
class BuiltPdf:
    content: bytes
    pages: int


# --- number formatting (what a reader expects: thousands separators, signs, n/a) ---------------

def money(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    text = f"{value:+,.2f}" if signed else f"{value:,.2f}"
    return text


def pct(value: float | None, places: int = 2) -> str:
    return "n/a" if value is None else f"{value:,.{places}f}%"


def ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName="Helvetica-Bold", fontSize=24,
                                leading=29, textColor=INK, alignment=TA_LEFT, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base["Normal"], fontSize=12, leading=16,
                                   textColor=MUTED),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName="Helvetica-Bold", fontSize=14,
                             leading=18, textColor=INK, spaceBefore=10, spaceAfter=6),
        "body": ParagraphStyle("body", parent=base["Normal"], fontSize=9.5, leading=13, textColor=INK),
        "small": ParagraphStyle("small", parent=base["Normal"], fontSize=8, leading=10.5, textColor=MUTED),
    }


# --- charts ----------------------------------------------------------------------------------

def _month_label(ordinal: float) -> str:
    return date.fromordinal(round(ordinal)).strftime("%b %y")


def _day_label(ordinal: float) -> str:
    return date.fromordinal(round(ordinal)).strftime("%d %b")


def equity_chart(metrics: PerformanceMetrics, width: float, height: float) -> Drawing:
    """End-of-day equity (line) above the drawdown from the running peak (filled, red)."""
    drawing = Drawing(width, height)
    curve = metrics.curve
    if len(curve) < 2 or not metrics.total_trades:
        message = "No closed trades in this period" if not metrics.total_trades else "Only one day so far"
        drawing.add(String(width / 2, height / 2, message, textAnchor="middle", fontName="Helvetica",
                           fontSize=10, fillColor=MUTED))
        return drawing
    xs = [p.day.toordinal() for p in curve]
    main_h = height * 0.68
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 52, height - main_h + 10, width - 64, main_h - 20
    # The line starts at the starting equity, on the first day of the period.
    first = (metrics.period_start.toordinal() if metrics.period_start else xs[0], metrics.starting_equity)
    plot.data = [[first, *zip(xs, [p.equity for p in curve], strict=True)]]
    plot.lines[0].strokeColor = ACCENT
    plot.lines[0].strokeWidth = 1.6
    _style_axes(plot, xs, money_axis=True)
    plot.xValueAxis.visibleLabels = False
    drawing.add(plot)
    dd = LinePlot()
    dd.x, dd.y, dd.width, dd.height = 52, 18, width - 64, height - main_h - 24
    dd.data = [list(zip(xs, [-p.drawdown_pct for p in curve], strict=True))]
    dd.lines[0].strokeColor = LOSS
    dd.lines[0].strokeWidth = 1.0
    _style_axes(dd, xs, money_axis=False)
    dd.yValueAxis.valueMax = 0
    dd.yValueAxis.valueMin = -max(1.0, metrics.max_drawdown_pct * 1.1)
    dd.yValueAxis.labelTextFormat = lambda v: f"{v:.0f}%"
    drawing.add(dd)
    drawing.add(String(4, height - 10, "Equity", fontName="Helvetica-Bold", fontSize=8, fillColor=INK))
    drawing.add(String(4, dd.y + dd.height + 2, "Drawdown", fontName="Helvetica-Bold", fontSize=8,
                       fillColor=LOSS))
    return drawing


def _style_axes(plot: LinePlot, xs: list[int], *, money_axis: bool) -> None:
    plot.xValueAxis.valueMin = xs[0]
    plot.xValueAxis.valueMax = xs[-1]
    span = max(1, xs[-1] - xs[0])
    plot.xValueAxis.valueStep = max(1, span // 6)
    plot.xValueAxis.labelTextFormat = _month_label if span > 62 else _day_label
    plot.xValueAxis.labels.fontSize = 7
    plot.xValueAxis.labels.fillColor = MUTED
    plot.xValueAxis.strokeColor = RULE
    plot.yValueAxis.labels.fontSize = 7
    plot.yValueAxis.labels.fillColor = MUTED
    plot.yValueAxis.strokeColor = RULE
    plot.yValueAxis.gridStrokeColor = RULE
    plot.yValueAxis.visibleGrid = True
    plot.yValueAxis.gridStrokeWidth = 0.3
    if money_axis:
        plot.yValueAxis.labelTextFormat = lambda v: f"{v:,.0f}"


def monthly_chart(metrics: PerformanceMetrics, width: float, height: float) -> Drawing:
    drawing = Drawing(width, height)
    months = metrics.months[-24:]
    if not months or not metrics.total_trades:
        drawing.add(String(width / 2, height / 2, "No closed trades in this period", textAnchor="middle",
                           fontName="Helvetica", fontSize=10, fillColor=MUTED))
        return drawing
    chart = VerticalBarChart()
    # A bar per month, never wider than ~40 pt: a short period should not draw a wall.
    chart.x, chart.y, chart.height = 52, 28, height - 40
    chart.width = min(width - 64, max(140, 46 * len(months)))
    chart.data = [[m.pnl for m in months]]
    chart.categoryAxis.categoryNames = [datetime.strptime(m.month, "%Y-%m").strftime("%b %y") for m in months]
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.fillColor = MUTED
    chart.categoryAxis.labels.angle = 30 if len(months) > 12 else 0
    chart.categoryAxis.labels.dy = -6
    chart.categoryAxis.strokeColor = RULE
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.labelTextFormat = lambda v: f"{v:,.0f}"
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = RULE
    chart.valueAxis.gridStrokeWidth = 0.3
    chart.valueAxis.strokeColor = RULE
    low, high = min(0.0, *chart.data[0]), max(0.0, *chart.data[0])
    pad = (high - low) * 0.1 or 1.0
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = low - pad, high + pad
    chart.bars[0].strokeColor = None
    chart.barSpacing = 2
    for i, m in enumerate(months):
        chart.bars[(0, i)].fillColor = GAIN if m.pnl >= 0 else LOSS
    drawing.add(chart)
    y0 = chart.y + chart.height * (0 - chart.valueAxis.valueMin) / (chart.valueAxis.valueMax
                                                                     - chart.valueAxis.valueMin)
    drawing.add(Line(chart.x, y0, chart.x + chart.width, y0, strokeColor=INK, strokeWidth=0.5))
    return drawing


# --- tables ----------------------------------------------------------------------------------

def _table(rows: list[list[str]], widths: list[float], *, numeric_from: int = 1,
           colour_col: int | None = None, values: list[float] | None = None) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), INK),
        ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    for r in range(2, len(rows), 2):
        style.append(("BACKGROUND", (0, r), (-1, r), ZEBRA))
    if colour_col is not None and values is not None:
        for r, value in enumerate(values, start=1):
            if value:
                style.append(("TEXTCOLOR", (colour_col, r), (colour_col, r), GAIN if value > 0 else LOSS))
    table.setStyle(TableStyle(style))
    return table


def headline_table(m: PerformanceMetrics, currency: str, width: float) -> Table:
    cells = [
        ("Total PnL", f"{money(m.total_pnl, signed=True)} {currency}"),
        ("Return", pct(m.total_pnl_percentage)),
        ("Win rate", pct(m.win_rate, 1)),
        ("Trades", f"{m.total_trades:,} ({m.winning_trades:,} W / {m.losing_trades:,} L)"),
        ("Profit factor", ratio(m.profit_factor)),
        ("Expectancy / trade", money(m.expectancy, signed=True)),
        ("Max drawdown", f"{pct(m.max_drawdown_pct)} ({money(m.max_drawdown_amount)})"),
        ("Sharpe", ratio(m.sharpe_ratio)),
        ("Sortino", ratio(m.sortino_ratio)),
        ("Calmar", ratio(m.calmar_ratio)),
        ("Starting equity", money(m.starting_equity)),
        ("Ending equity", money(m.ending_equity)),
        ("Avg signal-to-fill", "n/a" if m.average_latency_ms is None else f"{m.average_latency_ms:,.0f} ms"),
        ("Annualised return", pct(m.annualised_return_pct)),
        ("Commission + swap", money(m.commission + m.swap, signed=True)),
    ]
    rows = []
    for i in range(0, len(cells), 3):
        group = cells[i:i + 3]
        rows.append([c[0] for c in group])
        rows.append([c[1] for c in group])
    table = Table(rows, colWidths=[width / 3] * 3)
    style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 6)]
    for r in range(0, len(rows), 2):
        style += [("FONT", (0, r), (-1, r), "Helvetica", 8), ("TEXTCOLOR", (0, r), (-1, r), MUTED),
                  ("TOPPADDING", (0, r), (-1, r), 7), ("BOTTOMPADDING", (0, r), (-1, r), 0)]
        style += [("FONT", (0, r + 1), (-1, r + 1), "Helvetica-Bold", 13),
                  ("TEXTCOLOR", (0, r + 1), (-1, r + 1), INK), ("BOTTOMPADDING", (0, r + 1), (-1, r + 1), 7),
                  ("LINEBELOW", (0, r + 1), (-1, r + 1), 0.4, RULE)]
    pnl_colour = GAIN if m.total_pnl > 0 else LOSS if m.total_pnl < 0 else INK
    style.append(("TEXTCOLOR", (0, 1), (0, 1), pnl_colour))
    table.setStyle(TableStyle(style))
    return table


def breakdown_table(rows: list[BreakdownRow], first: str, width: float) -> Table:
    header = [first, "Trades", "Win rate", "Net PnL", "Profit factor", "Max DD", "Lots"]
    body = [[r.name[:40], f"{r.trades:,}", pct(r.win_rate, 1), money(r.pnl, signed=True),
             ratio(r.profit_factor), pct(r.max_drawdown_pct), f"{r.volume:,.2f}"] for r in rows]
    widths = [width * w for w in (0.30, 0.10, 0.11, 0.15, 0.12, 0.11, 0.11)]
    return _table([header, *body], widths, colour_col=3, values=[r.pnl for r in rows])


def _price(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def trade_tables(trades: Sequence[ClosedTrade], width: float,
                 names: Mapping[str, str] | None = None) -> list[Table]:
    names = names or {}
    header = ["Closed (UTC)", "Symbol", "Side", "Lots", "Open", "Close", "Pips", "Net PnL", "Provider"]
    widths = [width * w for w in (0.17, 0.10, 0.06, 0.07, 0.11, 0.11, 0.08, 0.12, 0.18)]
    tables = []
    for start in range(0, len(trades), TRADES_PER_PAGE):
        chunk = trades[start:start + TRADES_PER_PAGE]
        rows = [header] + [[
            t.closed_at.strftime("%Y-%m-%d %H:%M"), t.symbol, (t.side or "").upper(), f"{t.volume:.2f}",
            _price(t.open_price), _price(t.close_price), "" if t.pips is None else f"{t.pips:+.1f}",
            money(t.net, signed=True), (names.get(t.provider_id or "") or t.provider_id or "manual")[:24],
        ] for t in chunk]
        table = _table(rows, widths, numeric_from=3, colour_col=7, values=[t.net for t in chunk])
        table.setStyle(TableStyle([("ALIGN", (8, 0), (8, -1), "LEFT"), ("LEFTPADDING", (8, 0), (8, -1), 10)]))
        tables.append(table)
    return tables


# --- the document --------------------------------------------------------------------------------

def _numbered_canvas(footer: str, left: float, right: float) -> type:
    """A canvas that holds its pages until the end, so each footer can say 'page n of N'."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._footer(total)
                super().showPage()
            super().save()

        def _footer(self, total: int) -> None:
            self.saveState()
            self.setStrokeColor(RULE)
            self.line(left, 12 * mm, A4[0] - right, 12 * mm)
            self.setFont("Helvetica", 7.5)
            self.setFillColor(MUTED)
            self.drawString(left, 8 * mm, footer)
            self.drawRightString(A4[0] - right, 8 * mm, f"page {self._pageNumber} of {total}")
            self.restoreState()

    return NumberedCanvas


def _story(report: ReportData, width: float) -> list:
    s = _styles()
    m = report.metrics
    story: list = [
        Paragraph(report.title, s["title"]),
        Paragraph(f"{report.account_label} &nbsp;|&nbsp; {report.period_start:%d %b %Y} to "
                  f"{report.period_end:%d %b %Y}", s["subtitle"]),
        Paragraph(f"Prepared for {report.owner} on {report.generated_at:%d %b %Y %H:%M} UTC. "
                  f"Amounts in {report.currency}; realised results of closed trades.", s["small"]),
        Spacer(1, 8),
        headline_table(m, report.currency, width),
        Spacer(1, 4),
        Paragraph(_equity_note(report), s["small"]),
        Spacer(1, 8),
        Paragraph("Equity curve", s["h2"]),
        equity_chart(m, width, 62 * mm),
        KeepTogether([Paragraph("Monthly PnL", s["h2"]), monthly_chart(m, width, 52 * mm)]),
        PageBreak(),
    ]
    story += _risk_section(report, width, s)
    if report.providers:
        story += [Paragraph("By provider", s["h2"]), breakdown_table(report.providers, "Provider", width)]
    if report.symbols:
        story += [Paragraph("By symbol", s["h2"]), breakdown_table(report.symbols, "Symbol", width)]
    story += [PageBreak(), Paragraph("Closed trades", s["h2"])]
    total = report.trades_total if report.trades_total is not None else len(report.trades)
    if not report.trades:
        story.append(Paragraph("No trades were closed in this period.", s["body"]))
    elif total > len(report.trades):
        shown = f"The first {len(report.trades):,} of {total:,} trades, oldest first."
        story.append(Paragraph(shown, s["small"]))
    for i, table in enumerate(trade_tables(report.trades, width, report.provider_names)):
        if i:
            story.append(PageBreak())
        story.append(table)
    story += [Spacer(1, 10), Paragraph(_definitions_note(), s["small"])]
    return story


def _equity_note(report: ReportData) -> str:
    source = {"request": "as given when the report was requested",
              "heartbeat": "from the balance your bridge reported, less the PnL realised since the "
                           "period began",
              "default": "a default (no balance was reported)"}.get(report.starting_equity_source, "")
    return f"Starting equity {money(report.metrics.starting_equity)} {report.currency}: {source}."


def _risk_section(report: ReportData, width: float, s: dict[str, ParagraphStyle]) -> list:
    m = report.metrics
    dd = m.worst_drawdown
    rows = [["Worst drawdown", "Amount", "Depth", "Peak", "Trough", "Recovered"]]
    if dd is not None:
        rows.append(["Peak to trough (end of day)", money(dd.amount), pct(dd.pct),
                     f"{dd.peak_day or m.period_start} at {money(dd.peak_equity)}",
                     f"{dd.trough_day} at {money(dd.trough_equity)}",
                     str(dd.recovery_day) if dd.recovery_day else "not yet"])
    else:
        rows.append(["No drawdown in this period", "", "", "", "", ""])
    widths = [width * w for w in (0.24, 0.12, 0.09, 0.21, 0.21, 0.13)]
    days = [["Days", "Date", "PnL", "Trades"]]
    for label, point in (("Best day", m.best_day), ("Worst day", m.worst_day)):
        if point is not None:
            days.append([label, str(point.day), money(point.pnl, signed=True), f"{point.trades:,}"])
    return [KeepTogether([Paragraph("Risk", s["h2"]), _table(rows, widths),
                          Spacer(1, 6), _table(days, [width * 0.25] * 4)])]


def _definitions_note() -> str:
    return ("Definitions: net PnL = profit + commission + swap. Win rate counts trades with net PnL > 0. "
            "Profit factor = gross profit / |gross loss|. Daily returns are day PnL over the equity at "
            "the start of the day; Sharpe and Sortino annualise by sqrt(252) with a zero risk-free rate; "
            "Calmar = annualised return / max drawdown. Drawdown is measured on end-of-day equity.")


def build_pdf(report: ReportData) -> BuiltPdf:
    """Render the report to PDF bytes (one pass; page numbers are filled in at the end)."""
    buffer = io.BytesIO()
    margin = 16 * mm
    doc = BaseDocTemplate(buffer, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                          bottomMargin=18 * mm, title=report.title, author="SignalOS",
                          subject=f"{report.account_label} {report.period_start} to {report.period_end}")
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    footer = (f"SignalOS - {report.account_label} - {report.period_start} to {report.period_end} "
              f"- report {report.report_id}")
    doc.build(_story(report, doc.width), canvasmaker=_numbered_canvas(footer, margin, margin))
    return BuiltPdf(buffer.getvalue(), doc.page)
