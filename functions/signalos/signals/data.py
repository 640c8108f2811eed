"""Data access of the signals context: SignalsTable through `signalos.common.dynamo.Table`.

Item shapes are documented in `signalos.signals.records`. Every read is a key query in the
caller's partition or on one of the caller's index partitions (`USER#<uid>#...`); nothing
here scans. A signal is written whole by one conditional put (never half-written); its day's
counters are then ADDed atomically, only after the put succeeded (a refused or stale write
never counts, so nothing is counted twice).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import datetime
from typing import Any

from signalos.common.clock import iso
from signalos.common.dynamo import ConditionFailed, Table
from signalos.signals.records import (
    Provider,
    SignalRecord,
    date_axis,
    provider_axis,
    provider_sk,
    signal_sk,
    user_pk,
)
from signalos.signals.stats import counters_for, day_of

__all__ = [
    "BadCursor",
    "ConditionFailed",
    "StaleRecord",
    "decode_cursor",
    "encode_cursor",
]

log = logging.getLogger(__name__)
BUDGET_TTL_SECONDS = 3 * 24 * 3600
_HIGH = "~"  # sorts after every character of an id or a timestamp


class StaleRecord(Exception):
    """The stored signal changed since it was read (another writer got there first)."""


class BadCursor(ValueError):
    """A pagination cursor that this caller's query did not produce."""


def table() -> Table:
    return Table.from_env("SIGNALS_TABLE")


# --- signals ---------------------------------------------------------------------------------
def count(record: SignalRecord, add: dict[str, int | float]) -> None:
    """ADD to the day's counters of the record's owner. Called after the record's own write
    succeeded, so a refused write never counts; a failure here is logged, never raised (a
    counter is not worth failing a signal for)."""
    if not add:
        return
    try:
        table().update(
            user_pk(record.user_id),
            f"STATS#{day_of(record)}",
            set_values={"date": day_of(record), "type": "stats"},
            add_values=add,
        )
    except Exception:
        log.exception("day counters not updated for %s", record.signal_id)


def put_new_signal(record: SignalRecord) -> None:
    """Store a new signal with one conditional put (it never overwrites), then count it."""
    table().put(record.to_item(), if_absent=True)
    count(record, counters_for(None, record))
    _report_outcome(None, record)


def _report_outcome(before: SignalRecord | None, after: SignalRecord) -> None:
    """CloudWatch's signals-by-parser-and-outcome, once per outcome a stored signal reaches."""
    if not after.is_final or (before is not None and before.status == after.status):
        return
    latency_ms = None
    if after.parsed_at is not None:
        latency_ms = max(0.0, (after.parsed_at - after.received_at).total_seconds() * 1000)
    try:
        from signalos.analytics.platform import signal_outcome_metric

        signal_outcome_metric(parser=after.parser, outcome=after.status, latency_ms=latency_ms)
    except Exception:
        log.exception("outcome metric not emitted for %s", after.signal_id)


def replace_signal(before: SignalRecord, after: SignalRecord) -> None:
    """Replace a stored signal by a new version of it, only if it is still `before`.

    One conditional put of the whole record: the condition is on revision, status and dispatch
    mark, which every writer changes, so a worker finishing a parse that an edit has already
    superseded loses (StaleRecord) instead of clobbering it, and nothing is half-written.
    """
    try:
        table().put(
            after.to_item(),
            condition="attribute_exists(pk) AND #rev = :rev AND #st = :st AND #dr = :dr",
            names={"#rev": "revision", "#st": "status", "#dr": "dispatch_mark"},
            values={":rev": before.revision, ":st": before.status, ":dr": _dispatch_mark(before)},
        )
    except ConditionFailed as exc:
        raise StaleRecord(after.signal_id) from exc
    count(after, counters_for(before, after))
    _report_outcome(before, after)


def _dispatch_mark(record: SignalRecord) -> int:
    return -1 if record.dispatched_revision is None else record.dispatched_revision


def get_signal(user_id: str, signal_id: str) -> SignalRecord | None:
    item = table().get(user_pk(user_id), signal_sk(signal_id))
    return SignalRecord.from_item(item) if item else None


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise BadCursor("cursor is not one this API returned") from exc
    if not isinstance(key, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in key.items()
    ):
        raise BadCursor("cursor is not one this API returned")
    return key


def _time_range(start: datetime | None, end: datetime | None) -> tuple[str, str] | None:
    if start is None and end is None:
        return None
    low = iso(start) if start else "0"
    high = (iso(end) + "#" + _HIGH) if end else _HIGH
    return low, high


def query_history(
    user_id: str,
    *,
    provider_id: str | None = None,
    symbol: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
    max_pages: int = 8,
) -> tuple[list[SignalRecord], str | None]:
    """Newest first (by signal time). Provider -> gsi1 key range, otherwise gsi2 (all signals by
    time); a date range narrows the key range; a symbol filters inside it."""
    index, axis = (
        ("gsi1", provider_axis(user_id, provider_id)) if provider_id else ("gsi2", date_axis(user_id))
    )
    start_key = decode_cursor(cursor)
    expected = {"pk", "sk", f"{index}pk", f"{index}sk"}
    if start_key is not None and (
        set(start_key) != expected or start_key["pk"] != user_pk(user_id) or start_key[f"{index}pk"] != axis
    ):
        raise BadCursor("cursor does not belong to this query")
    filter_expression, names, values = None, None, None
    if symbol:
        filter_expression, names, values = "contains(#sy, :sy)", {"#sy": "symbols"}, {":sy": symbol}
    out: list[SignalRecord] = []
    tbl = table()
    next_key = start_key
    for _ in range(max_pages):
        want = limit - len(out)
        items, next_key = tbl.query_page(
            axis,
            index=index,
            sk_between=_time_range(start, end),
            newest_first=True,
            limit=want if not symbol else max(want, 100),
            cursor=next_key,
            filter_expression=filter_expression,
            names=names,
            values=values,
        )
        for item in items:
            if len(out) == limit:
                # More matches than the page needs: resume right after the last one returned.
                last = out[-1]
                return out, encode_cursor(_key_of(last, index))
            out.append(SignalRecord.from_item(item))
        if next_key is None or len(out) == limit:
            break
    return out, encode_cursor(next_key) if next_key else None


def _key_of(record: SignalRecord, index: str) -> dict[str, Any]:
    item = record.to_item()
    return {k: item[k] for k in ("pk", "sk", f"{index}pk", f"{index}sk")}


# --- providers ---------------------------------------------------------------------------------
def put_new_provider(provider: Provider) -> None:
    table().put(provider.to_item(), if_absent=True)


def get_provider(user_id: str, provider_id: str) -> Provider | None:
    item = table().get(user_pk(user_id), provider_sk(provider_id))
    return Provider.from_item(item) if item else None


def list_providers(
    user_id: str, *, limit: int = 50, cursor: str | None = None
) -> tuple[list[Provider], str | None]:
    start_key = decode_cursor(cursor)
    if start_key is not None and (set(start_key) != {"pk", "sk"} or start_key["pk"] != user_pk(user_id)):
        raise BadCursor("cursor does not belong to this query")
    items, next_key = table().query_page(
        user_pk(user_id), sk_prefix="PROVIDER#", limit=limit, cursor=start_key
    )
    return [Provider.from_item(i) for i in items], encode_cursor(next_key)


def count_providers(user_id: str) -> int:
    return sum(1 for _ in table().query_all(user_pk(user_id), sk_prefix="PROVIDER#"))


def update_provider(provider: Provider, *, expected_version: int, changed: set[str]) -> Provider:
    """SET only the changed fields (attributes others own, e.g. the telegram lookup keys, stay)."""
    item = provider.to_item()
    set_values = {k: item[k] for k in changed if k in item}
    set_values["updated_at"] = item["updated_at"]
    set_values["version"] = provider.version
    remove = [k for k in changed if k not in item]
    if "visibility" in changed:
        if provider.visibility == "public":
            set_values["gsi1pk"], set_values["gsi1sk"] = item["gsi1pk"], item["gsi1sk"]
        else:
            remove += ["gsi1pk", "gsi1sk"]
    updated = table().update(
        item["pk"],
        item["sk"],
        set_values=set_values,
        remove=remove or None,
        condition="attribute_exists(pk) AND #ver = :ver",
        names={"#ver": "version"},
        values={":ver": expected_version},
    )
    return Provider.from_item(updated)


def delete_provider(user_id: str, provider_id: str) -> bool:
    try:
        table().delete(user_pk(user_id), provider_sk(provider_id), condition="attribute_exists(pk)")
    except ConditionFailed:
        return False
    return True


# --- stats and budget --------------------------------------------------------------------------
def stats_days(user_id: str, first_day: str, last_day: str) -> list[dict[str, Any]]:
    return list(table().query_all(user_pk(user_id), sk_between=(f"STATS#{first_day}", f"STATS#{last_day}")))


def reserve_llm_call(user_id: str, day: str, *, max_calls: int, max_tokens: int, now_epoch: int) -> bool:
    """Take one LLM call from the user's daily budget; False when the budget is spent."""
    try:
        table().update(
            user_pk(user_id),
            f"LLMBUDGET#{day}",
            add_values={"llm_calls": 1, "llm_tokens": 0},
            set_values={"expires_at": now_epoch + BUDGET_TTL_SECONDS, "type": "llm_budget"},
            condition="attribute_not_exists(#c) OR (#c < :maxc AND #t < :maxt)",
            names={"#c": "llm_calls", "#t": "llm_tokens"},
            values={":maxc": max_calls, ":maxt": max_tokens},
        )
    except ConditionFailed:
        return False
    return True


def record_llm_tokens(user_id: str, day: str, tokens: int) -> None:
    if tokens > 0:
        table().update(user_pk(user_id), f"LLMBUDGET#{day}", add_values={"llm_tokens": int(tokens)})


def llm_budget_used(user_id: str, day: str) -> dict[str, int]:
    item = table().get(user_pk(user_id), f"LLMBUDGET#{day}") or {}
    return {"calls": int(item.get("llm_calls", 0)), "tokens": int(item.get("llm_tokens", 0))}
