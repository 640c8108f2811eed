"""Path parameter types every route uses, so an id is bounded the same way everywhere.

An unbounded id would reach DynamoDB as a key (over 1024 bytes is a ValidationException, a 500);
bounded here it is a 422 naming the parameter before any route logic runs.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
IdPath = Annotated[str, Path(pattern=ID_PATTERN)]
# Broker and canonical symbols: XAUUSD, EURUSD.pro, XAUUSD#, US30, BTC/USD.
SymbolPath = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_.#$/\- ]+$")]

# List endpoints: page size capped at 100 by signalos.common.pagination.clamp_limit.
Limit = Annotated[int | None, Query(ge=1, le=1000, description="page size, capped at 100")]
Cursor = Annotated[str | None, Query(max_length=2048)]
