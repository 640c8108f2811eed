"""Signals API routes (`/api/v1/signals/...`): thin, every route needs the `signal_parsing`
feature and sees only the caller's own signals and providers (another user's id is a 404).

Parsing:  POST parse-sync (result in the answer), POST parse (202 + id), GET {signal_id},
          POST upload (image, 202), POST import (bulk, per-line report)
Reading:  GET history (cursor pages; provider_id, symbol, from, to), GET stats (day counters)
Providers: GET/POST providers, GET/PATCH/PUT/DELETE providers/{provider_id}
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from signalos.common.clock import utc_now
from signalos.common.errors import BadRequest, PayloadTooLarge
from signalos.common.guards import Principal, current_principal, require_feature
from signalos.common.pagination import clamp_limit
from signalos.common.params import Cursor, IdPath, Limit
from signalos.signals import config, data, service, stats
from signalos.signals.models import (
    DeletedOut,
    ExecutionOut,
    ImportIn,
    ImportLineOut,
    ImportOut,
    ParseAcceptedOut,
    ParseIn,
    ParseSyncIn,
    ParseSyncOut,
    ProviderIn,
    ProviderListOut,
    ProviderOut,
    ProviderPatch,
    SignalListOut,
    SignalOut,
    StatsOut,
    UploadIn,
    UploadOut,
    legacy_signal,
    provider_out,
    signal_out,
)
from signalos.signals.records import SignalRecord

log = logging.getLogger(__name__)
router = Router()
S = "/api/v1/signals"
FEATURE = config.SIGNALS_FEATURE
MAX_STATS_DAYS = 366
IdQ = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
TimeQ = Annotated[str | None, Query(max_length=40, description="ISO 8601 date or time (UTC)")]


def _me() -> Principal:
    return current_principal(router)


def _dispatch(event: Any) -> Any:
    from signalos.trading.fanout import dispatch_signal

    return dispatch_signal(event)


def _can_execute(principal: Principal, provider_id: str | None) -> str | None:
    """None when auto-execution may go ahead, else why not."""
    if config.AUTO_TRADING_FEATURE not in principal.features:
        return f"your license does not include {config.AUTO_TRADING_FEATURE}"
    if not provider_id:
        return "auto_execute needs a provider_id: orders go to that provider's subscriptions"
    return None


def _execute(record: SignalRecord, principal: Principal, requested: bool) -> ExecutionOut:
    if not requested:
        return ExecutionOut(requested=False, dispatched=False)
    why_not = _can_execute(principal, record.provider_id)
    if why_not is None and (record.status != "parsed" or record.parse is None or not record.parse.results):
        why_not = f"nothing to execute (signal {record.status})"
    if why_not is not None:
        return ExecutionOut(requested=True, dispatched=False, reason=why_not)
    try:
        _, summary = service.dispatch_now(record, _dispatch)
    except Exception:
        log.exception("fan-out failed for %s", record.signal_id)
        return ExecutionOut(requested=True, dispatched=False, reason="fan-out failed; the signal is stored")
    return ExecutionOut(
        requested=True,
        dispatched=not summary.failed,
        subscriptions=summary.subscriptions,
        orders_enqueued=summary.orders_enqueued,
        commands_enqueued=summary.commands_enqueued,
        rejected=summary.rejected,
        failed=summary.failed,
        reason="some subscriptions failed" if summary.failed else None,
    )


# --- parsing --------------------------------------------------------------------------------------
@router.post(
    f"{S}/parse-sync", tags=["signals"], summary="Parse a signal now (result in the answer); stores it"
)
@require_feature(FEATURE)
def parse_sync(body: ParseSyncIn) -> ParseSyncOut:
    me = _me()
    record = service.ingest_text(
        user_id=me.user_id,
        provider_id=body.provider_id,
        text=body.text,
        source=body.source,
        source_ref={},
        signal_time=body.signal_time,
        received_at=utc_now(),
        features=me.features,
        slow_path="inline",
        auto_dispatch=False,
    )
    return ParseSyncOut(
        success=record.status in ("parsed", "ignored"),
        signal_id=record.signal_id,
        status=record.status,
        results=record.parse.contract_json() if record.parse is not None else [],
        parsed_signal=legacy_signal(record),
        signal=signal_out(record),
        execution=_execute(record, me, body.auto_execute),
    )


@router.post(f"{S}/parse", status_code=202, tags=["signals"], summary="Submit a signal; slow path if needed")
@require_feature(FEATURE)
def parse_async(body: ParseIn) -> ParseAcceptedOut:
    me = _me()
    may_execute = body.auto_execute and _can_execute(me, body.provider_id) is None
    record = service.ingest_text(
        user_id=me.user_id,
        provider_id=body.provider_id,
        text=body.text,
        source=body.source,
        source_ref={},
        signal_time=body.signal_time,
        received_at=utc_now(),
        features=me.features,
        slow_path="queue",
        auto_dispatch=may_execute,
    )
    execution = None
    if body.auto_execute and record.status != "queued":
        execution = _execute(record, me, True)
    elif body.auto_execute:
        reason = None if may_execute else _can_execute(me, body.provider_id)
        execution = ExecutionOut(
            requested=True, dispatched=False, reason=reason or "dispatched when the slow path finishes"
        )
    return ParseAcceptedOut(
        success=True,
        signal_id=record.signal_id,
        status=record.status,
        status_url=f"{S}/{record.signal_id}",
        signal=signal_out(record),
        execution=execution,
    )


@router.post(
    f"{S}/upload", status_code=202, tags=["signals"], summary="Submit a signal image (OCR, slow path)"
)
@require_feature(FEATURE)
def upload(body: UploadIn) -> UploadOut:
    from signalos.signals import images

    me = _me()
    try:
        raw = base64.b64decode(body.image, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("`image` is not valid base64", code="IMAGE_ENCODING") from None
    if len(raw) > config.MAX_IMAGE_BYTES:
        raise PayloadTooLarge(
            f"The image exceeds {config.MAX_IMAGE_BYTES // (1024 * 1024)} MB",
            code="IMAGE_TOO_LARGE",
            details={"max_bytes": config.MAX_IMAGE_BYTES},
        )
    try:
        info = images.inspect_image(raw, pillow_optional=True)
    except images.ImageRejected as exc:
        raise BadRequest(exc.message, code=exc.code) from None
    may_execute = body.auto_execute and _can_execute(me, body.provider_id) is None
    record = service.ingest_image(
        user_id=me.user_id,
        provider_id=body.provider_id,
        image_bytes=raw,
        caption=body.caption,
        source="upload",
        source_ref={},
        signal_time=body.signal_time,
        received_at=utc_now(),
        features=me.features,
        auto_dispatch=may_execute,
    )
    return UploadOut(
        success=record.status != "failed",
        signal_id=record.signal_id,
        status=record.status,
        status_url=f"{S}/{record.signal_id}",
        image={
            "format": info.format,
            "width": info.width,
            "height": info.height,
            "size_bytes": info.size_bytes,
        },
    )


@router.post(f"{S}/import", tags=["signals"], summary="Import signals in bulk (JSON lines or CSV)")
@require_feature(FEATURE)
def import_signals(body: ImportIn) -> ImportOut:
    from signalos.signals import importer

    me = _me()
    try:
        rows = importer.parse_import(
            body.format, body.content, default_provider=body.provider_id, now=utc_now()
        )
    except importer.TooManyLines as exc:
        raise PayloadTooLarge(
            str(exc), code="TOO_MANY_LINES", details={"max_lines": config.MAX_IMPORT_LINES}
        ) from None
    except ValueError as exc:
        raise BadRequest(str(exc), code="INVALID_IMPORT") from None
    report = [ImportLineOut(**line) for line in service.import_rows(me.user_id, rows, features=me.features)]
    ok = sum(1 for line in report if line.status == "ok")
    return ImportOut(total=len(report), ok=ok, errors=len(report) - ok, lines=report)


# --- reading --------------------------------------------------------------------------------------
def _when(value: str | None, name: str, *, end_of_day: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"`{name}` is not an ISO 8601 date or time", code="INVALID_TIME") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@router.get(f"{S}/history", tags=["signals"], summary="Your signals, newest first (by signal time)")
@require_feature(FEATURE)
def history(
    limit: Limit = None,
    cursor: Cursor = None,
    provider_id: IdQ = None,
    symbol: Annotated[str | None, Query(max_length=32)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: TimeQ = None,
) -> SignalListOut:
    from signalos.instruments import canonical_symbol

    me = _me()
    start, end = _when(from_, "from"), _when(to, "to", end_of_day=True)
    if start and end and start > end:
        raise BadRequest("`from` is after `to`", code="INVALID_TIME")
    wanted = (canonical_symbol(symbol) or symbol.upper()) if symbol else None
    try:
        records, next_cursor = data.query_history(
            me.user_id,
            provider_id=provider_id,
            symbol=wanted,
            start=start,
            end=end,
            limit=clamp_limit(limit),
            cursor=cursor,
        )
    except data.BadCursor:
        raise BadRequest("The cursor is not valid; start again without one", code="INVALID_CURSOR") from None
    return SignalListOut(items=[signal_out(r) for r in records], next_cursor=next_cursor)


@router.get(f"{S}/stats", tags=["signals"], summary="Parsing counts, outcomes and latencies per day")
@require_feature(FEATURE)
def signal_stats(
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None, to: TimeQ = None
) -> StatsOut:
    me = _me()
    last = (_when(to, "to") or utc_now()).date()
    first = (_when(from_, "from") or datetime.combine(last - timedelta(days=29), time.min, tzinfo=UTC)).date()
    if first > last or (last - first).days >= MAX_STATS_DAYS:
        raise BadRequest(
            f"the period must be 1 to {MAX_STATS_DAYS} days, `from` before `to`", code="INVALID_PERIOD"
        )
    days = data.stats_days(me.user_id, first.isoformat(), last.isoformat())
    return StatsOut(period={"from": first.isoformat(), "to": last.isoformat()}, **stats.summarize(days))


# --- providers ------------------------------------------------------------------------------------
P = f"{S}/providers"


@router.get(P, tags=["providers"], summary="Your signal providers")
@require_feature(FEATURE)
def list_providers(limit: Limit = None, cursor: Cursor = None) -> ProviderListOut:
    try:
        providers, next_cursor = service.list_providers(
            _me().user_id, limit=clamp_limit(limit), cursor=cursor
        )
    except data.BadCursor:
        raise BadRequest("The cursor is not valid; start again without one", code="INVALID_CURSOR") from None
    return ProviderListOut(items=[provider_out(p) for p in providers], next_cursor=next_cursor)


@router.post(P, status_code=201, tags=["providers"], summary="Create a provider (with its parsing rules)")
@require_feature(FEATURE)
def create_provider(body: ProviderIn) -> ProviderOut:
    me = _me()
    provider = service.create_provider(
        me.user_id,
        name=body.name,
        description=body.description,
        visibility=body.visibility,
        rules=body.rules.model_dump(mode="json", exclude_defaults=True),
        is_admin=me.is_admin,
    )
    return provider_out(provider)


@router.get(f"{P}/<provider_id>", tags=["providers"], summary="One of your providers")
@require_feature(FEATURE)
def get_provider(provider_id: IdPath) -> ProviderOut:
    provider = service.get_provider(_me().user_id, provider_id)
    if provider is None:
        raise service.ProviderNotFound()
    return provider_out(provider)


def _changes(body: ProviderPatch | ProviderIn, *, full: bool) -> dict[str, Any]:
    fields = body.model_fields_set if not full else set(type(body).model_fields)
    changes = {name: getattr(body, name) for name in fields}
    if "rules" in changes:
        rules = changes["rules"]
        changes["rules"] = rules.model_dump(mode="json", exclude_defaults=True) if rules is not None else {}
    if changes.get("name", "") is None or changes.get("visibility", "") is None:
        raise BadRequest("`name` and `visibility` cannot be null", code="INVALID_FIELD")
    return changes


@router.patch(f"{P}/<provider_id>", tags=["providers"], summary="Change a provider (only the fields given)")
@require_feature(FEATURE)
def patch_provider(provider_id: IdPath, body: ProviderPatch) -> ProviderOut:
    me = _me()
    return provider_out(
        service.update_provider(me.user_id, provider_id, _changes(body, full=False), is_admin=me.is_admin)
    )


@router.put(
    f"{P}/<provider_id>", tags=["providers"], summary="Replace a provider's name, description and rules"
)
@require_feature(FEATURE)
def put_provider(provider_id: IdPath, body: ProviderIn) -> ProviderOut:
    me = _me()
    return provider_out(
        service.update_provider(me.user_id, provider_id, _changes(body, full=True), is_admin=me.is_admin)
    )


@router.delete(f"{P}/<provider_id>", tags=["providers"], summary="Delete a provider (its signals stay)")
@require_feature(FEATURE)
def delete_provider(provider_id: IdPath) -> DeletedOut:
    service.delete_provider(_me().user_id, provider_id)
    return DeletedOut(id=provider_id)


# --- one signal (after the fixed paths, so `history`/`stats` are never taken for an id) -----------
@router.get(f"{S}/<signal_id>", tags=["signals"], summary="A signal's status and result")
@require_feature(FEATURE)
def get_signal(signal_id: IdPath) -> SignalOut:
    return signal_out(service.get_signal(_me().user_id, signal_id))
