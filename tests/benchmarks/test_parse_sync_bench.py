"""parse-sync benchmark (run with `make bench`; figures are printed, nothing is asserted on time).

The signals Lambda handler invoked in-process on the embedded AWS (moto, in-process) with the
API Gateway payload-2.0 event of `POST /api/v1/signals/parse-sync`, one message at a time,
for a spread of real signal posts (rules path: no LLM key is configured, so the numbers are
the fast path). Printed: handler time per message (median / p95 / max), and the parser's own
share (`parse_ms` from the response). The handler time includes JWT checking, validation, the
conditional put and the day-counter ADD (both in moto, which is far slower than DynamoDB at
parsing update expressions), and shaping the response; the time spent inside AWS calls is
measured separately so the code's own share is visible.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid

from infra.local.events import http_event

MESSAGES = [
    "XAUUSD BUY NOW 1950-1948 SL 1940 TP1 1955 TP2 1960",
    "BUY EURUSD @ 1.1000 SL: 1.0950 TP: 1.1050",
    "GBPJPY SELL LIMIT 191.250 SL 192.100 TP 190.500",
    "XAU USD SELL NOW\n\n4459.50 - 4464.50\n\nTP1 4456.50\nTP2 4454.50\nTP3 4452\n\nSL 4467",
    "US30 BUY 39250-39200 SL 39100 TP 39400 TP 39550",
    "Move SL to breakeven on GOLD",
    "Close half now and move stop to entry",
    "Good morning traders, big week ahead!",
    "TP1 hit +40 pips",
    "BTCUSD sell 67850 sl 68400 tp 67000 tp 66200",
]
ROUNDS = 30


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def test_parse_sync_handler_time(aws, call_api, monkeypatch):
    from botocore.client import BaseClient

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    aws_ms = [0.0]
    real_call = BaseClient._make_api_call

    def timed_call(self, operation, params):
        started = time.perf_counter()
        try:
            return real_call(self, operation, params)
        finally:
            aws_ms[0] += (time.perf_counter() - started) * 1000

    monkeypatch.setattr(BaseClient, "_make_api_call", timed_call)
    name, pw = f"bench_{uuid.uuid4().hex[:8]}", "correct horse battery"
    assert call_api("POST", "/api/v1/auth/register", json={"username": name, "password": pw})[0] == 201
    _, _, tokens = call_api("POST", "/api/v1/auth/login", json={"username": name, "password": pw})
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "content-type": "application/json"}

    from signalos.signals.handler import lambda_handler

    context = aws.context("SignalsFunction")
    for text in MESSAGES[:3]:  # warm: imports, clients, first-use caches
        lambda_handler(
            http_event("POST", "/api/v1/signals/parse-sync", body={"text": text}, headers=headers), context
        )
    handler_ms: list[float] = []
    own_ms: list[float] = []
    parse_ms: list[float] = []
    statuses: dict[str, int] = {}
    for _ in range(ROUNDS):
        for text in MESSAGES:
            event = http_event("POST", "/api/v1/signals/parse-sync", body={"text": text}, headers=headers)
            aws_ms[0] = 0.0
            started = time.perf_counter()
            response = lambda_handler(event, context)
            handler_ms.append((time.perf_counter() - started) * 1000)
            own_ms.append(handler_ms[-1] - aws_ms[0])
            assert response["statusCode"] == 200, response["body"]
            body = json.loads(response["body"])
            parse_ms.append(body["signal"]["parse_ms"] or 0.0)
            statuses[body["status"]] = statuses.get(body["status"], 0) + 1
    n = len(handler_ms)
    print(
        f"\nparse-sync in-process handler, {n} messages ({len(MESSAGES)} posts x {ROUNDS}), moto in-process:"
        f"\n  handler ms  median {statistics.median(handler_ms):.2f}  p95 {_pct(handler_ms, 95):.2f}"
        f"  max {max(handler_ms):.2f}"
        f"\n  without AWS calls (moto) ms  median {statistics.median(own_ms):.2f}  p95 {_pct(own_ms, 95):.2f}"
        f"\n  parser ms   median {statistics.median(parse_ms):.3f}  p95 {_pct(parse_ms, 95):.3f}"
        f"\n  outcomes    {statuses}"
    )
