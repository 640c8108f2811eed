"""Bridge API routes (`/api/v1/bridge/...`): thin; the work is in service.py.

Two kinds of caller: the account owner (JWT or API key: register, pairing code, account list,
revoke) and the bridge agent (`Authorization: Bearer sosb_...`: session, heartbeat, reports).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from signalos.bridge_api import accounts, service
from signalos.bridge_api.auth import (
    bridge_caller,
    presented_bridge_token,
    require_bridge_token,
    require_bridge_token_or_user,
)
from signalos.bridge_api.models import (
    AccountDeletedOut,
    AccountListOut,
    AccountOut,
    HeartbeatOut,
    PairIn,
    PairingCodeIn,
    PairingCodeOut,
    PairOut,
    RegisterIn,
    RegisterOut,
    ReportsIn,
    ReportsOut,
    RotateIn,
    SessionOut,
    TokenOut,
    TokenRevokedOut,
)
from signalos.common.clock import iso
from signalos.common.errors import BadRequest
from signalos.common.guards import current_principal, require_auth, require_feature
from signalos.common.pagination import clamp_limit, decode_cursor, encode_cursor
from signalos.common.params import IdPath
from signalos.contracts.execution import Heartbeat

router = Router()
PREFIX = "/api/v1/bridge"
TAGS = ["bridge"]


@router.post(
    f"{PREFIX}/register",
    status_code=201,
    tags=TAGS,
    summary="Create a trading account, its order queue and a bridge token (shown once)",
)
@require_feature("auto_trading")
def register(body: RegisterIn) -> RegisterOut:
    principal = current_principal(router)
    account, token = service.register_account(
        principal,
        name=body.name,
        kind=body.kind,
        broker_server=body.broker_server,
        login=body.login,
        symbol_map=body.symbol_map,
        symbol_suffix=body.symbol_suffix,
    )
    return RegisterOut(
        account_id=account.account_id,
        bridge_token=token,
        queue_url=account.queue_url,
        account=AccountOut(**service.account_out(account)),
    )


@router.get(f"{PREFIX}/accounts", tags=TAGS, summary="Your trading accounts")
@require_auth
def list_accounts(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AccountListOut:
    principal = current_principal(router)
    gsi_pk = f"ACCOUNTS#{principal.user_id}"
    page, last = accounts.list_accounts_page(
        principal.user_id, limit=clamp_limit(limit), cursor=decode_cursor(cursor, expect={"gsi2pk": gsi_pk})
    )
    return AccountListOut(
        items=[AccountOut(**service.account_view(a)) for a in page], next_cursor=encode_cursor(last)
    )


@router.get(f"{PREFIX}/accounts/<account_id>", tags=TAGS, summary="One of your trading accounts")
@require_auth
def get_account(account_id: IdPath) -> AccountOut:
    account = service.owned_account(current_principal(router), account_id)
    return AccountOut(**service.account_view(account))


@router.delete(
    f"{PREFIX}/accounts/<account_id>",
    tags=TAGS,
    summary="Disable a trading account: revokes its token and deletes its queue",
)
@require_auth
def delete_account(account_id: IdPath) -> AccountDeletedOut:
    account, deleted = service.disable_account(current_principal(router), account_id)
    return AccountDeletedOut(account_id=account.account_id, status=account.status, queue_deleted=deleted)


@router.delete(
    f"{PREFIX}/accounts/<account_id>/token", tags=TAGS, summary="Revoke the account's bridge token"
)
@require_auth
def revoke_token(account_id: IdPath) -> TokenRevokedOut:
    service.revoke_token(current_principal(router), account_id)
    return TokenRevokedOut(account_id=account_id, revoked=True)


@router.post(
    f"{PREFIX}/token/rotate",
    tags=TAGS,
    summary="New bridge token (old one revoked): with the bridge token, or a JWT and account_id",
)
@require_bridge_token_or_user
def rotate_token(body: RotateIn | None = None) -> TokenOut:
    if presented_bridge_token(router.current_event) is not None:
        account, actor = bridge_caller(router).account, "bridge"
    else:
        principal = current_principal(router)
        if body is None or not body.account_id:
            raise BadRequest(
                'Send {"account_id": ...} to rotate with your user credentials', code="ACCOUNT_ID_REQUIRED"
            )
        account, actor = service.owned_account(principal, body.account_id), "owner"
    token, created = service.rotate_token(account, actor=actor)
    return TokenOut(account_id=account.account_id, bridge_token=token, token_created_at=created)


@router.post(f"{PREFIX}/pairing-code", tags=TAGS, summary="A one-time code (10 minutes) to pair a bridge")
@require_feature("auto_trading")
def pairing_code(body: PairingCodeIn) -> PairingCodeOut:
    code, expires = service.create_pairing_code(current_principal(router), body.account_id)
    return PairingCodeOut(account_id=body.account_id, code=code, expires_at=iso(expires))


@router.post(f"{PREFIX}/pair", tags=TAGS, summary="Exchange a pairing code for the account's bridge token")
def pair(body: PairIn) -> PairOut:
    source_ip = router.current_event.request_context.http.source_ip
    account, token = service.pair(body.code, source_ip=source_ip)
    return PairOut(account_id=account.account_id, bridge_token=token, queue_url=account.queue_url)


@router.post(
    f"{PREFIX}/session",
    tags=TAGS,
    summary="Short-lived credentials that can only consume this account's queue",
)
@require_bridge_token
def session() -> SessionOut:
    return SessionOut(**service.open_session(bridge_caller(router)))


@router.post(f"{PREFIX}/heartbeat", tags=TAGS, summary="Balance, positions and symbol specs")
@require_bridge_token
def heartbeat(body: Heartbeat) -> HeartbeatOut:
    server_time = service.record_heartbeat(bridge_caller(router), body)
    return HeartbeatOut(ok=True, server_time=server_time)


@router.post(f"{PREFIX}/reports", tags=TAGS, summary="Execution reports (idempotent by report_id)")
@require_bridge_token
def reports(body: ReportsIn) -> ReportsOut:
    return ReportsOut(results=service.apply_reports(bridge_caller(router), body.reports))
