"""Analytics API routes (`/api/v1/analytics/...`): thin, every read scoped to the caller.

Periods are UTC days (`start`, `end`, ISO dates, both included). `account_id` narrows the
summary, chart and performance to one trading account; provider and symbol breakdowns cover
all of the caller's accounts (the account only sets the starting equity there).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from signalos.analytics import service
from signalos.analytics.models import (
    ID_PATTERN,
    ChartOut,
    PerformanceOut,
    ProviderDetailOut,
    ProviderListOut,
    ReportIn,
    ReportOut,
    SummaryOut,
    SymbolOut,
)
from signalos.common.guards import current_principal, require_auth
from signalos.common.params import IdPath, SymbolPath

router = Router()
P = "/api/v1/analytics"
TAGS = ["analytics"]
Start = Annotated[date | None, Query(description="first day, UTC (default: first day with a closed trade)")]
End = Annotated[date | None, Query(description="last day, UTC (default: today)")]
AccountQ = Annotated[str | None, Query(pattern=ID_PATTERN, description="one of your trading accounts")]
Equity = Annotated[float | None, Query(gt=0, le=1e12, description="starting equity (default: from the "
                                                                  "account's reported balance)")]


def _scope(start: date | None, end: date | None, account_id: str | None,
           starting_equity: float | None) -> service.Scope:
    return service.Scope(current_principal(router).user_id, start, end, account_id, starting_equity)


@router.get(f"{P}/summary", tags=TAGS, summary="Headline performance of your trading")
@require_auth
def summary(start: Start = None, end: End = None, account_id: AccountQ = None,
            starting_equity: Equity = None) -> SummaryOut:
    return SummaryOut(**service.summary(_scope(start, end, account_id, starting_equity)))


@router.get(f"{P}/performance-metrics", tags=TAGS, summary="Every metric, with its definition")
@require_auth
def performance_metrics(start: Start = None, end: End = None, account_id: AccountQ = None,
                        starting_equity: Equity = None) -> PerformanceOut:
    return PerformanceOut(**service.performance(_scope(start, end, account_id, starting_equity)))


@router.get(f"{P}/providers", tags=TAGS, summary="Each provider you traded: results and signal outcomes")
@require_auth
def providers(start: Start = None, end: End = None, starting_equity: Equity = None) -> ProviderListOut:
    return ProviderListOut(**service.providers(_scope(start, end, None, starting_equity)))


@router.get(f"{P}/provider/<provider_id>", tags=TAGS, summary="One provider in full")
@require_auth
def provider(provider_id: IdPath, start: Start = None, end: End = None,
             starting_equity: Equity = None) -> ProviderDetailOut:
    return ProviderDetailOut(**service.provider(_scope(start, end, None, starting_equity), provider_id))


@router.get(f"{P}/symbol/<symbol>", tags=TAGS, summary="Your results on one symbol")
@require_auth
def symbol(symbol: SymbolPath, start: Start = None, end: End = None,
           starting_equity: Equity = None) -> SymbolOut:
    return SymbolOut(**service.symbol(_scope(start, end, None, starting_equity), symbol))


@router.get(f"{P}/chart", tags=TAGS, summary="Equity curve, daily and monthly PnL")
@require_auth
def chart(start: Start = None, end: End = None, account_id: AccountQ = None, starting_equity: Equity = None,
          provider_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
          symbol: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._\-]{1,32}$")] = None) -> ChartOut:
    scope = _scope(start, end, account_id, starting_equity)
    return ChartOut(**service.chart(scope, provider_id=provider_id, symbol=symbol))


@router.post(f"{P}/report/pdf", status_code=201, tags=TAGS,
             summary="Build a PDF report; returns a download link")
@require_auth
def create_report(body: ReportIn) -> ReportOut:
    from signalos.analytics import reports  # reportlab is imported only on this path

    principal = current_principal(router)
    return ReportOut(**reports.create_report(principal.user_id, principal.username, body))


@router.get(f"{P}/report/<report_id>", tags=TAGS, summary="A fresh download link for one of your reports")
@require_auth
def get_report(report_id: IdPath) -> ReportOut:
    from signalos.analytics import reports

    return ReportOut(**reports.get_report(current_principal(router).user_id, report_id))
