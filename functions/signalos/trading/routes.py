"""Trading API routes: subscriptions (`/api/v1/subscriptions`) and trades (`/api/v1/trades`).

Thin: parse, call trading.service / trading.trades, shape the response. Reads need a valid
caller; actions (opening, closing, subscribing) need the `auto_trading` feature.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from signalos.common.guards import current_principal, require_auth, require_feature
from signalos.common.pagination import clamp_limit
from signalos.common.params import Cursor, IdPath, Limit, SymbolPath
from signalos.trading import service, trades
from signalos.trading.models import (
    AccountStatusOut,
    BulkCloseIn,
    CommandsOut,
    DeletedOut,
    OrderListOut,
    OrderOut,
    RejectionListOut,
    RejectionOut,
    SubscriptionIn,
    SubscriptionListOut,
    SubscriptionOut,
    SubscriptionPatch,
    SymbolSpecOut,
    TradeCloseIn,
    TradeModifyIn,
    TradeOpenIn,
    TradeOpenOut,
    TradeStatus,
)

router = Router()
SUBS = "/api/v1/subscriptions"
TRADES = "/api/v1/trades"
AccountQ = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


def _uid() -> str:
    return current_principal(router).user_id


# --- subscriptions -----------------------------------------------------------------------------


@router.post(
    SUBS, status_code=201, tags=["subscriptions"], summary="Subscribe one of your accounts to a provider"
)
@require_feature("auto_trading")
def create_subscription(body: SubscriptionIn) -> SubscriptionOut:
    return service.to_out(service.create_subscription(_uid(), body))


@router.get(SUBS, tags=["subscriptions"], summary="Your subscriptions")
@require_auth
def list_subscriptions(limit: Limit = None, cursor: Cursor = None) -> SubscriptionListOut:
    subs, next_cursor = service.list_subscriptions(_uid(), limit=clamp_limit(limit), cursor=cursor)
    return SubscriptionListOut(items=[service.to_out(s) for s in subs], next_cursor=next_cursor)


@router.get(f"{SUBS}/<subscription_id>", tags=["subscriptions"], summary="One subscription")
@require_auth
def get_subscription(subscription_id: IdPath) -> SubscriptionOut:
    return service.to_out(service.get_subscription(_uid(), subscription_id))


@router.patch(
    f"{SUBS}/<subscription_id>", tags=["subscriptions"], summary="Rename, enable/disable, change rules"
)
@require_feature("auto_trading")
def patch_subscription(subscription_id: IdPath, body: SubscriptionPatch) -> SubscriptionOut:
    return service.to_out(service.patch_subscription(_uid(), subscription_id, body))


@router.delete(f"{SUBS}/<subscription_id>", tags=["subscriptions"], summary="Unsubscribe")
@require_auth
def delete_subscription(subscription_id: IdPath) -> DeletedOut:
    service.delete_subscription(_uid(), subscription_id)
    return DeletedOut(id=subscription_id)


# --- trades: actions ---------------------------------------------------------------------------


@router.post(f"{TRADES}/open", status_code=201, tags=["trades"], summary="Open a manual trade (risk-checked)")
@require_feature("auto_trading")
def open_trade(body: TradeOpenIn) -> TradeOpenOut:
    items, warnings = trades.open_trade(_uid(), body)
    return TradeOpenOut(
        success=True,
        message=f"{len(items)} order(s) for {items[0]['symbol']} sent to the account's bridge",
        group_id=str(items[0]["group_id"]),
        orders=[trades.order_out(i) for i in items],
        warnings=warnings,
    )


@router.post(f"{TRADES}/close", tags=["trades"], summary="Close (or partly close) your orders' positions")
@require_feature("auto_trading")
def close_trade(body: TradeCloseIn) -> CommandsOut:
    return CommandsOut(**trades.close_trades(_uid(), body.ids(), body.fraction))


@router.post(f"{TRADES}/modify", tags=["trades"], summary="Change SL/TP of an order's position")
@require_feature("auto_trading")
def modify_trade(body: TradeModifyIn) -> CommandsOut:
    return CommandsOut(**trades.modify_trade(_uid(), body.order_id, body.stop_loss, body.take_profit))


@router.post(f"{TRADES}/bulk-close", tags=["trades"], summary="Close every open trade (filtered)")
@require_feature("auto_trading")
def bulk_close(body: BulkCloseIn) -> CommandsOut:
    return CommandsOut(
        **trades.bulk_close(_uid(), account_id=body.account_id, symbol=body.symbol, signal_id=body.signal_id)
    )


# --- trades: reads -----------------------------------------------------------------------------


@router.get(f"{TRADES}/history", tags=["trades"], summary="Your orders, newest first")
@require_auth
def trade_history(
    limit: Limit = None,
    cursor: Cursor = None,
    account_id: AccountQ = None,
    symbol: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[TradeStatus | None, Query()] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
) -> OrderListOut:
    items, next_cursor = trades.history(
        _uid(),
        limit=clamp_limit(limit),
        cursor=cursor,
        account_id=account_id,
        symbol=symbol,
        status=status,
        since=from_,
        until=to,
    )
    return OrderListOut(items=items, next_cursor=next_cursor)


@router.get(f"{TRADES}/rejections", tags=["trades"], summary="Setups that did not trade, and why")
@require_auth
def trade_rejections(limit: Limit = None, cursor: Cursor = None) -> RejectionListOut:
    items, next_cursor = trades.rejections(_uid(), limit=clamp_limit(limit), cursor=cursor)
    return RejectionListOut(items=[RejectionOut.model_validate(i) for i in items], next_cursor=next_cursor)


@router.get(f"{TRADES}/account", tags=["trades"], summary="An account's last heartbeat")
@require_auth
def trade_account(account_id: AccountQ = None) -> AccountStatusOut:
    return AccountStatusOut(**trades.account_status(_uid(), account_id))


@router.get(f"{TRADES}/symbols/<symbol>", tags=["trades"], summary="A symbol's spec as last reported")
@require_auth
def trade_symbol(symbol: SymbolPath, account_id: AccountQ = None) -> SymbolSpecOut:
    return SymbolSpecOut(**trades.symbol_spec(_uid(), account_id, symbol))


@router.get(f"{TRADES}/status/<order_id>", tags=["trades"], summary="One order's state and timings")
@require_auth
def trade_status(order_id: IdPath) -> OrderOut:
    return trades.get_trade(_uid(), order_id)


@router.get(f"{TRADES}/<order_id>", tags=["trades"], summary="One order (same as status/{order_id})")
@require_auth
def get_trade(order_id: IdPath) -> OrderOut:
    return trades.get_trade(_uid(), order_id)
