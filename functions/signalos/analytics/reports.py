"""PDF reports: gather the period's figures, build the PDF, store it in S3, hand out a link.

Objects: REPORTS_BUCKET `reports/<user_id>/<report_id>.pdf` (the bucket's lifecycle rule expires
them after 90 days). Metadata: AnalyticsTable `USER#<uid>` / `REPORT#<report_id>` (same TTL), so
`GET /api/v1/analytics/report/<id>` is a key read in the caller's partition: another user's
report id is simply not found. Links are presigned GETs valid for REPORT_URL_TTL seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import islice
from typing import Any

from signalos.analytics import data, service
from signalos.analytics.aggregates import user_pk
from signalos.analytics.metrics import ClosedTrade, compute_metrics, metrics_from_trades
from signalos.analytics.models import ReportIn
from signalos.common import aws, settings
from signalos.common.clock import epoch_seconds, iso, utc_now
from signalos.common.errors import NotFound
from signalos.common.ids import new_id
from signalos.common.observability import count, logger

REPORT_URL_TTL = 900
REPORT_RETENTION = timedelta(days=90)


def _s3() -> Any:
    return aws.client("s3")


def _bucket() -> str:
    return settings.require_env("REPORTS_BUCKET")


def report_key(user_id: str, report_id: str) -> str:
    return f"reports/{user_id}/{report_id}.pdf"


def _presign(key: str, filename: str) -> str:
    return _s3().generate_presigned_url(
        "get_object", ExpiresIn=REPORT_URL_TTL,
        Params={"Bucket": _bucket(), "Key": key, "ResponseContentType": "application/pdf",
                "ResponseContentDisposition": f'attachment; filename="{filename}"'})


def _row(name: str, m: Any) -> Any:
    from signalos.analytics.pdf import BreakdownRow

    return BreakdownRow(name, m.total_trades, m.win_rate, m.total_pnl, m.profit_factor, m.max_drawdown_pct,
                        m.total_volume)


def _breakdown_from_aggregates(user_id: str, prefix: str, base: service.Base,
                               names: dict[str, str]) -> list[Any]:
    """Per-provider (`P#`) or per-symbol (`S#`) rows from the day records (all accounts)."""
    dims = [str(t["dim"]) for t in data.read_totals(user_id, prefix)]

    def row(dim: str) -> Any:
        days = data.read_days(user_id, dim, base.start, base.end)
        m = compute_metrics(days, base.starting_equity, start=base.start, end=base.end)
        key = dim.removeprefix(prefix)
        return _row(names.get(key) or key, m) if m.total_trades else None

    with ThreadPoolExecutor(max_workers=min(8, max(1, len(dims)))) as pool:
        rows = [r for r in pool.map(row, dims) if r is not None]
    return sorted(rows, key=lambda r: (-r.pnl, r.name))


def _breakdown_from_trades(trades: list[ClosedTrade], key: Callable[[ClosedTrade], str], base: service.Base,
                           names: dict[str, str]) -> list[Any]:
    """The same rows from the period's trades in hand (exact for the account in scope, no reads)."""
    groups: dict[str, list[ClosedTrade]] = {}
    for trade in trades:
        groups.setdefault(key(trade), []).append(trade)
    rows = [_row(names.get(k) or k, metrics_from_trades(group, base.starting_equity, start=base.start,
                                                        end=base.end)) for k, group in groups.items()]
    return sorted(rows, key=lambda r: (-r.pnl, r.name))


def _provider_names(user_id: str) -> dict[str, str]:
    ids = [str(t["dim"]).removeprefix("P#") for t in data.read_totals(user_id, "P#")]
    names = {}
    for pid in ids:
        name = service.provider_name(user_id, pid)
        if name:
            names[pid] = name
    return names


def _account_label(user_id: str, account_id: str | None) -> str:
    if not account_id:
        return "All accounts"
    from signalos.bridge_api import accounts

    account = accounts.get_account(user_id, account_id)
    if account is None:
        raise NotFound("Account not found", code="ACCOUNT_NOT_FOUND")
    return f"{account.name} ({account.kind})"


def _filename(label: str, base: service.Base) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").lower() or "account"
    return f"signalos-{slug}-{base.start}-{base.end}.pdf"


def create_report(user_id: str, username: str, body: ReportIn) -> dict[str, Any]:
    from signalos.analytics.pdf import MAX_TRADES_LISTED, ReportData, build_pdf

    label = _account_label(user_id, body.account_id)
    scope = service.Scope(user_id, body.start, body.end, body.account_id, body.starting_equity)
    base = service.base_of(scope)
    metrics, _ = service.metrics_for(scope, base=base)
    names = _provider_names(user_id)
    trades = data.iter_ledger(user_id, base.start, base.end)
    if body.account_id:
        trades = (t for t in trades if t.account_id == body.account_id)
    listed = list(islice(trades, MAX_TRADES_LISTED))
    report_id = new_id("rpt")
    now = utc_now()
    if len(listed) == metrics.total_trades:
        # Every trade of the period is in hand: break it down from them (right for one account too).
        providers = _breakdown_from_trades(listed, lambda t: t.provider_id or "manual", base, names)
        symbols = _breakdown_from_trades(listed, lambda t: t.symbol or "?", base, {})
    else:  # the list was cut: the day records (kept per user, so across all accounts)
        providers = _breakdown_from_aggregates(user_id, "P#", base, names)
        symbols = _breakdown_from_aggregates(user_id, "S#", base, {})
    report = ReportData(
        report_id=report_id, owner=username or user_id, account_label=label, period_start=base.start,
        period_end=base.end, generated_at=now, metrics=metrics, starting_equity_source=base.source,
        title=body.title or "Trading performance report", providers=providers, symbols=symbols,
        trades=listed, trades_total=metrics.total_trades, provider_names=names,
    )
    built = build_pdf(report)
    key = report_key(user_id, report_id)
    filename = _filename(label, base)
    _s3().put_object(Bucket=_bucket(), Key=key, Body=built.content, ContentType="application/pdf",
                     ServerSideEncryption="AES256", Metadata={"report-id": report_id})
    item = {
        "pk": user_pk(user_id), "sk": f"REPORT#{report_id}", "kind": "report", "report_id": report_id,
        "s3_key": key, "filename": filename, "created_at": iso(now), "period_start": base.start.isoformat(),
        "period_end": base.end.isoformat(), "pages": built.pages, "size_bytes": len(built.content),
        "trades": metrics.total_trades, "account_id": body.account_id,
        "expires_at": epoch_seconds(now + REPORT_RETENTION),
    }
    data.analytics_table().put(item)
    count("ReportsBuilt")
    logger.info("report built", extra={"report_id": report_id, "pages": built.pages,
                                       "bytes": len(built.content)})
    return _report_out(item)


def _report_out(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "report_id": item["report_id"], "url": _presign(item["s3_key"], item["filename"]),
        "url_expires_at": iso(utc_now() + timedelta(seconds=REPORT_URL_TTL)),
        "created_at": item["created_at"],
        "period_start": item.get("period_start"), "period_end": item.get("period_end"),
        "pages": int(item.get("pages", 0)), "size_bytes": int(item.get("size_bytes", 0)),
        "trades": int(item.get("trades", 0)),
    }


def get_report(user_id: str, report_id: str) -> dict[str, Any]:
    """A fresh link to one of the caller's reports (NotFound for anyone else's id)."""
    item = data.analytics_table().get(user_pk(user_id), f"REPORT#{report_id}")
    if item is None or item.get("kind") != "report" or int(item.get("expires_at", 0)) < epoch_seconds():
        raise NotFound("Report not found", code="REPORT_NOT_FOUND")
    return _report_out(item)
