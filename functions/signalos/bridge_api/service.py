"""What the bridge API does: accounts and their queues, bridge tokens, sessions, heartbeats, reports.

Routes call these with an authenticated caller (a JWT/API-key `Principal` or a `BridgeCaller`);
nothing here reads the HTTP request.

Each account's DLQ has a CloudWatch alarm (`signalos-<stage>-orders-<account_id>-dlq`, one
message is enough, to the stack's alarm topic): an order there is a trade that was not executed.
The alarm is created with the queues at registration; if CloudWatch fails then, the account is
still created (its queues are what orders need), the failure is logged and audited
(`bridge_dlq_alarm_failed`) and the account item carries no `dlq_alarm`. Creation is then
retried whenever the account next does something that already calls AWS: a bridge session
(every run of the agent, and at each credential refresh), a token rotation or a pairing. So a
transient outage heals without anyone acting, and accounts created before the alarms existed
get theirs. Disabling an account deletes the alarm by name with the queues; a failed deletion
is logged and audited, and deleting the account again retries it.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError

from signalos.auth import entitlements
from signalos.bridge_api import accounts, aws, ratelimit, tokens
from signalos.bridge_api.accounts import Account
from signalos.bridge_api.auth import BridgeCaller
from signalos.bridge_api.policy import queue_name
from signalos.common import audit, settings
from signalos.common.clock import iso, utc_now
from signalos.common.dynamo import ConditionFailed, Table
from signalos.common.errors import ApiError, BadRequest, Forbidden, NotFound, ServiceUnavailable
from signalos.common.guards import Principal
from signalos.common.ids import new_id
from signalos.common.observability import logger
from signalos.contracts.execution import ExecutionReport, Heartbeat

DEFAULT_MAX_ACCOUNTS = 10  # with multi_account; without it, one


# --- accounts ---------------------------------------------------------------------------------


def max_accounts(principal: Principal) -> int:
    if not principal.has_feature("multi_account"):
        return 1
    return max(1, settings.env_int("BRIDGE_MAX_ACCOUNTS", DEFAULT_MAX_ACCOUNTS))


def active_account_count(tbl: Table, user_id: str) -> int:
    item = tbl.get(accounts.user_pk(user_id), accounts.COUNTER_SK)
    return int((item or {}).get("active_accounts", 0))


def _limit_error(principal: Principal, allowed: int) -> ApiError:
    if not principal.has_feature("multi_account"):
        return Forbidden(
            f"Your license ({principal.license_tier or 'none'}) allows one trading account; "
            "more need multi_account",
            code="FEATURE_NOT_LICENSED",
            details={"feature": "multi_account", "license_tier": principal.license_tier, "expired": False},
        )
    return Forbidden(
        f"You have reached the limit of {allowed} trading accounts",
        code="ACCOUNT_LIMIT",
        details={"limit": allowed},
    )


def register_account(
    principal: Principal,
    *,
    name: str,
    kind: str,
    broker_server: str | None,
    login: int | None,
    symbol_map: dict[str, str] | None,
    symbol_suffix: str | None,
) -> tuple[Account, str]:
    """Create the account, its queue + DLQ and a bridge token; returns (account, raw token)."""
    tbl = accounts.table()
    allowed = max_accounts(principal)
    if active_account_count(tbl, principal.user_id) >= allowed:
        raise _limit_error(principal, allowed)
    account_id = new_id("acc")
    try:
        queues = aws.create_account_queues(account_id, principal.user_id)
    except Exception as exc:
        logger.exception("order queue creation failed", extra={"account_id": account_id})
        raise ServiceUnavailable("Could not create the account's order queue; try again") from exc
    dlq_alarm = _put_dlq_alarm(account_id, principal.user_id)  # None on failure: retried later
    now = utc_now()
    raw_token = tokens.generate_token()
    token_hash = tokens.hash_secret(raw_token)
    account = Account(
        account_id=account_id,
        user_id=principal.user_id,
        name=name,
        kind=kind,
        broker_server=broker_server,
        login=login,
        queue_url=queues.queue_url,
        queue_arn=queues.queue_arn,
        dlq_url=queues.dlq_url,
        dlq_arn=queues.dlq_arn,
        symbol_map=symbol_map or {},
        symbol_suffix=symbol_suffix,
        status="active",
        created_at=iso(now),
        updated_at=iso(now),
        token_hash=token_hash,
        token_created_at=iso(now),
        dlq_alarm=dlq_alarm,
    )
    try:
        # The counter's condition is the authoritative limit check (two registrations racing).
        tbl.transact_write(
            [
                {
                    "Update": {
                        "Key": {"pk": accounts.user_pk(principal.user_id), "sk": accounts.COUNTER_SK},
                        "UpdateExpression": "ADD active_accounts :one SET updated_at = :now",
                        "ConditionExpression": (
                            "attribute_not_exists(active_accounts) OR active_accounts < :max"
                        ),
                        "ExpressionAttributeValues": {":one": 1, ":now": iso(now), ":max": allowed},
                    }
                },
                {
                    "Put": {
                        "Item": accounts.account_item(account),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "Item": tokens.token_item(
                            token_hash, account_id=account_id, user_id=principal.user_id, now=now
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    except ConditionFailed:
        _delete_queues_and_alarm(account)
        raise _limit_error(principal, allowed) from None
    except Exception:
        _delete_queues_and_alarm(account)
        raise
    audit.record(
        "bridge_account_registered",
        user_id=principal.user_id,
        details={"account_id": account_id, "kind": kind, "dlq_alarm": dlq_alarm},
    )
    return account, raw_token


def _put_dlq_alarm(account_id: str, user_id: str) -> str | None:
    """Create the account's DLQ alarm; its name, or None (logged and audited) when CloudWatch failed."""
    try:
        return aws.put_dlq_alarm(account_id)
    except Exception as exc:
        logger.exception("order DLQ alarm creation failed", extra={"account_id": account_id})
        audit.record(
            "bridge_dlq_alarm_failed",
            user_id=user_id,
            outcome="failure",
            details={
                "account_id": account_id,
                "error": type(exc).__name__,
                "retry": "next bridge session or token rotation",
            },
        )
        return None


def ensure_dlq_alarm(account: Account) -> Account:
    """Create the DLQ alarm an active account lacks (see the module docstring). Best effort: the
    request that called this goes on whatever happens here."""
    if account.dlq_alarm or not account.active:
        return account
    name = _put_dlq_alarm(account.account_id, account.user_id)
    if name is None:
        return account
    try:
        accounts.table().update(
            accounts.user_pk(account.user_id),
            accounts.account_sk(account.account_id),
            set_values={"dlq_alarm": name},
            condition="#st = :on",
            names={"#st": "status"},
            values={":on": "active"},
        )
    except ConditionFailed:
        # Disabled meanwhile: its queues are being deleted, so goes the alarm just made.
        _delete_dlq_alarm(account)
        return account
    except Exception:
        # The alarm exists; the item learns it at the next retry (PutMetricAlarm is idempotent).
        logger.exception("recording the order DLQ alarm failed", extra={"account_id": account.account_id})
        return account
    audit.record(
        "bridge_dlq_alarm_created", user_id=account.user_id, details={"account_id": account.account_id}
    )
    return account.model_copy(update={"dlq_alarm": name})


def _delete_dlq_alarm(account: Account) -> bool:
    try:
        return aws.delete_dlq_alarm(account.account_id)
    except Exception as exc:
        logger.exception("order DLQ alarm deletion failed", extra={"account_id": account.account_id})
        audit.record(
            "bridge_dlq_alarm_delete_failed",
            user_id=account.user_id,
            outcome="failure",
            details={"account_id": account.account_id, "error": type(exc).__name__},
        )
        return False


def _delete_queues_and_alarm(account: Account) -> bool:
    """Delete the account's queues and DLQ alarm; True when both queues went (the alarm's fate is
    logged and audited: an alarm on a deleted queue only ever reports missing data)."""
    _delete_dlq_alarm(account)
    ok = True
    for url in (account.queue_url, account.dlq_url):
        try:
            aws.delete_queue(url)
        except Exception:
            ok = False
            logger.exception("order queue deletion failed", extra={"account_id": account.account_id})
    return ok


def owned_account(principal: Principal, account_id: str) -> Account:
    """The caller's account or 404 (another user's account is not found, not forbidden)."""
    account = accounts.get_account(principal.user_id, account_id)
    if account is None:
        raise NotFound("Trading account not found", code="ACCOUNT_NOT_FOUND")
    return account


def disable_account(principal: Principal, account_id: str) -> tuple[Account, bool]:
    """Disable the account, revoke its token and delete its queues. Idempotent."""
    account = owned_account(principal, account_id)
    tbl = accounts.table()
    now = utc_now()
    if account.active:
        ops: list[dict[str, Any]] = [
            {
                "Update": {
                    "Key": {"pk": accounts.user_pk(account.user_id), "sk": accounts.account_sk(account_id)},
                    "UpdateExpression": (
                        "SET #st = :off, disabled_at = :now, updated_at = :now REMOVE token_hash, dlq_alarm"
                    ),
                    "ConditionExpression": "#st = :on",
                    "ExpressionAttributeNames": {"#st": "status"},
                    "ExpressionAttributeValues": {":off": "disabled", ":on": "active", ":now": iso(now)},
                }
            },
            {
                "Update": {
                    "Key": {"pk": accounts.user_pk(account.user_id), "sk": accounts.COUNTER_SK},
                    "UpdateExpression": "ADD active_accounts :minus",
                    "ExpressionAttributeValues": {":minus": -1},
                }
            },
        ]
        if account.token_hash:
            ops.append(tokens.revoke_operation(account.token_hash, now))
        # ConditionFailed: disabled concurrently, and the other request did the bookkeeping.
        with contextlib.suppress(ConditionFailed):
            tbl.transact_write(ops)
        audit.record("bridge_account_disabled", user_id=account.user_id, details={"account_id": account_id})
    deleted = _delete_queues_and_alarm(account)  # every call: a repeated DELETE retries the clean-up
    return owned_account(principal, account_id), deleted


# --- tokens -----------------------------------------------------------------------------------


def rotate_token(account: Account, *, actor: str) -> tuple[str, str]:
    """A new bridge token for the account; the old one is revoked in the same transaction."""
    if not account.active:
        raise Forbidden("This trading account is disabled", code="ACCOUNT_DISABLED")
    tbl = accounts.table()
    now = utc_now()
    raw = tokens.generate_token()
    new_hash = tokens.hash_secret(raw)
    if account.token_hash:
        condition, values = "#th = :old AND #st = :on", {":old": account.token_hash}
    else:
        condition, values = "attribute_not_exists(#th) AND #st = :on", {}
    ops: list[dict[str, Any]] = [
        {
            "Put": {
                "Item": tokens.token_item(
                    new_hash, account_id=account.account_id, user_id=account.user_id, now=now
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "Key": {
                    "pk": accounts.user_pk(account.user_id),
                    "sk": accounts.account_sk(account.account_id),
                },
                "UpdateExpression": "SET #th = :new, token_created_at = :now, updated_at = :now",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#th": "token_hash", "#st": "status"},
                "ExpressionAttributeValues": {":new": new_hash, ":now": iso(now), ":on": "active", **values},
            }
        },
    ]
    if account.token_hash:
        ops.append(tokens.revoke_operation(account.token_hash, now))
    try:
        tbl.transact_write(ops)
    except ConditionFailed:
        raise ApiError(409, "CONFLICT", "The bridge token changed meanwhile; try again") from None
    audit.record(
        "bridge_token_rotated",
        user_id=account.user_id,
        details={"account_id": account.account_id, "by": actor},
    )
    ensure_dlq_alarm(account)
    return raw, iso(now)


def revoke_token(principal: Principal, account_id: str) -> None:
    account = owned_account(principal, account_id)
    if not account.token_hash:
        return
    now = utc_now()
    try:
        accounts.table().transact_write(
            [
                {
                    "Update": {
                        "Key": {
                            "pk": accounts.user_pk(account.user_id),
                            "sk": accounts.account_sk(account_id),
                        },
                        "UpdateExpression": "SET updated_at = :now REMOVE #th",
                        "ConditionExpression": "#th = :old",
                        "ExpressionAttributeNames": {"#th": "token_hash"},
                        "ExpressionAttributeValues": {":old": account.token_hash, ":now": iso(now)},
                    }
                },
                tokens.revoke_operation(account.token_hash, now),
            ]
        )
    except ConditionFailed:
        raise ApiError(409, "CONFLICT", "The bridge token changed meanwhile; try again") from None
    audit.record("bridge_token_revoked", user_id=account.user_id, details={"account_id": account_id})


def create_pairing_code(principal: Principal, account_id: str) -> tuple[str, datetime]:
    account = owned_account(principal, account_id)
    if not account.active:
        raise Forbidden("This trading account is disabled", code="ACCOUNT_DISABLED")
    tbl = accounts.table()
    now = utc_now()
    for _ in range(3):  # a collision of 40-bit codes is rare; retry rather than overwrite
        code = tokens.generate_pairing_code()
        try:
            expires = tokens.save_pairing_code(
                tbl, code, account_id=account_id, user_id=principal.user_id, now=now
            )
        except ConditionFailed:
            continue
        audit.record(
            "bridge_pairing_code_created", user_id=principal.user_id, details={"account_id": account_id}
        )
        return code, expires
    raise ServiceUnavailable("Could not create a pairing code; try again")


def pair(code: str, *, source_ip: str) -> tuple[Account, str]:
    """Exchange a one-time pairing code for the account's (new) bridge token."""
    tbl = accounts.table()
    now = utc_now()
    ratelimit.hit(tbl, ratelimit.PAIR, owner_pk="RATE#pair", subject=source_ip or "unknown", now=now)
    invalid = BadRequest(
        "The pairing code is not valid (it may have expired or been used)", code="INVALID_PAIRING_CODE"
    )
    item = tokens.consume_pairing_code(tbl, code, now)
    if item is None:
        audit.record("bridge_pair_failed", user_id=None, outcome="failure", details={"source_ip": source_ip})
        raise invalid
    account = accounts.get_account(str(item["user_id"]), str(item["account_id"]))
    if account is None or not account.active:
        raise invalid
    raw, _ = rotate_token(account, actor="pairing")
    return account, raw


# --- bridge-token routes --------------------------------------------------------------------


def _queue_is_the_accounts(account: Account) -> bool:
    """The stored queue is `<prefix><account_id>.fifo` (never mint credentials for anything else)."""
    prefix = os.environ.get("ORDER_QUEUE_PREFIX", "")
    expected = queue_name(prefix, account.account_id)
    return (
        account.queue_arn.rsplit(":", 1)[-1] == expected
        and urlparse(account.queue_url).path.rsplit("/", 1)[-1] == expected
    )


def open_session(caller: BridgeCaller) -> dict[str, Any]:
    account = caller.account
    # A bridge token outlives any login: queue credentials only while the owner may still trade.
    refusal = entitlements.trading_refusal(account.user_id)
    if refusal is not None:
        raise Forbidden(f"No queue credentials: {refusal.message}", code="TRADING_NOT_ALLOWED")
    ratelimit.hit(
        accounts.table(),
        ratelimit.SESSION,
        owner_pk=accounts.user_pk(account.user_id),
        subject=account.account_id,
        now=utc_now(),
    )
    if not _queue_is_the_accounts(account):
        logger.error("account queue mismatch", extra={"account_id": account.account_id})
        raise ServiceUnavailable("This account's order queue is not set up")
    ensure_dlq_alarm(account)
    try:
        credentials = aws.assume_queue_role(account.account_id, account.queue_arn)
    except Exception as exc:
        logger.exception("assume role failed", extra={"account_id": account.account_id})
        raise ServiceUnavailable("Could not issue queue credentials; try again") from exc
    audit.record(
        "bridge_session_issued",
        user_id=account.user_id,
        details={"account_id": account.account_id, "expiration": credentials["expiration"]},
    )
    return {
        "account_id": account.account_id,
        "queue_url": account.queue_url,
        "region": aws.region_name(),
        "endpoint_url": settings.aws_endpoint_url(),
        "credentials": credentials,
    }


def record_heartbeat(caller: BridgeCaller, hb: Heartbeat) -> str:
    if hb.account_id != caller.account_id:
        raise Forbidden(
            "This heartbeat is for another account than the bridge token's", code="ACCOUNT_MISMATCH"
        )
    now = utc_now()
    ratelimit.hit(
        accounts.table(),
        ratelimit.HEARTBEAT,
        owner_pk=accounts.user_pk(caller.user_id),
        subject=caller.account_id,
        now=now,
    )
    accounts.save_heartbeat(caller.account, hb, received_at=now)
    return iso(now)


def _apply(report: ExecutionReport, user_id: str) -> tuple[str, str | None]:
    from signalos.trading import orders

    detailed = getattr(orders, "apply_report", None)
    if detailed is not None:
        outcome = detailed(report, account_user_id=user_id)
        return outcome.status, outcome.error
    return orders.apply_execution_report(report, account_user_id=user_id), None


def _validation_message(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'report'}: {e['msg']}" for e in exc.errors()[:3]]
    return ("invalid report: " + "; ".join(parts))[:300]


def apply_reports(caller: BridgeCaller, raw_reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate and apply each report; a report for another account is rejected, never applied."""
    ratelimit.hit(
        accounts.table(),
        ratelimit.REPORTS,
        owner_pk=accounts.user_pk(caller.user_id),
        subject=caller.account_id,
        now=utc_now(),
    )
    results: list[dict[str, Any]] = []
    failures = 0
    for raw in raw_reports:
        rid = raw.get("report_id") if isinstance(raw.get("report_id"), str) else None
        try:
            report = ExecutionReport.model_validate(raw)
        except ValidationError as exc:
            results.append({"report_id": rid, "status": "rejected", "error": _validation_message(exc)})
            continue
        if report.account_id != caller.account_id:
            logger.warning(
                "report for another account",
                extra={"account_id": caller.account_id, "report_account_id": report.account_id},
            )
            results.append(
                {
                    "report_id": rid,
                    "status": "rejected",
                    "error": "report is for another account than the bridge token's",
                }
            )
            continue
        try:
            status, error = _apply(report, caller.user_id)
        except Exception:
            failures += 1
            logger.exception("report apply failed", extra={"report_id": report.report_id})
            continue
        results.append({"report_id": report.report_id, "status": status, "error": error})
    if failures:
        # Transient trouble: the bridge resends the batch; what was applied comes back "duplicate".
        raise ServiceUnavailable(f"{failures} report(s) could not be stored; resend the batch")
    return results


# --- views ------------------------------------------------------------------------------------


def account_out(account: Account, *, last_heartbeat_at: str | None = None) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "kind": account.kind,
        "broker_server": account.broker_server,
        "login": account.login,
        "symbol_map": account.symbol_map,
        "symbol_suffix": account.symbol_suffix,
        "status": account.status,
        "queue_url": account.queue_url,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
        "has_bridge_token": bool(account.token_hash),
        "token_created_at": account.token_created_at,
        "last_heartbeat_at": last_heartbeat_at,
    }


def account_view(account: Account) -> dict[str, Any]:
    return account_out(
        account, last_heartbeat_at=accounts.heartbeat_received_at(account.user_id, account.account_id)
    )
