"""Bridge-token authentication: `Authorization: Bearer sosb_...` -> the one account it may act for.

The token is looked up by its SHA-256 (the raw token is never stored); a revoked token, an
unknown one, or one whose account is disabled gets 401/403 before any route logic runs.

Routes for the agent are decorated with `@require_bridge_token` (or `@require_bridge_token_or_user`
for token rotation): like the user guards of signalos.common.guards, the check runs before the
request body is validated, so a caller without a valid token gets 401 whatever it sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from signalos.bridge_api import accounts
from signalos.bridge_api.tokens import TOKEN_PREFIX, find_token
from signalos.common.errors import Forbidden, Unauthorized
from signalos.common.guards import current_principal, guarded_by, request_event

_CACHE_ATTR = "_signalos_bridge_caller"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class BridgeCaller:
    account: accounts.Account
    token_hash: str

    @property
    def account_id(self) -> str:
        return self.account.account_id

    @property
    def user_id(self) -> str:
        return self.account.user_id


def presented_bridge_token(event: Any) -> str | None:
    """The `sosb_` token in the Authorization header, or None when the header holds something else."""
    for key, value in (event.headers or {}).items():
        if key.lower() == "authorization":
            scheme, _, credential = str(value).strip().partition(" ")
            credential = credential.strip()
            if scheme.lower() == "bearer" and credential.startswith(TOKEN_PREFIX):
                return credential
    return None


def bridge_caller(router: Any = None) -> BridgeCaller:
    """The account of the request's bridge token (cached on the request's event)."""
    event = request_event(router)
    cached = getattr(event, _CACHE_ATTR, None)
    if isinstance(cached, BridgeCaller):
        return cached
    raw = presented_bridge_token(event)
    if raw is None:
        raise Unauthorized(
            "Use 'Authorization: Bearer sosb_...' (the account's bridge token)", code="BRIDGE_TOKEN_REQUIRED"
        )
    item = find_token(raw, accounts.table())
    if item is None:
        raise Unauthorized("Bridge token is not valid", code="INVALID_BRIDGE_TOKEN")
    if item.get("revoked"):
        raise Unauthorized(
            "Bridge token has been revoked; pair the bridge again", code="BRIDGE_TOKEN_REVOKED"
        )
    account = accounts.get_account(str(item["user_id"]), str(item["account_id"]))
    if account is None or account.token_hash != item["token_hash"]:
        # The account was rotated to another token (this one should be revoked too) or removed.
        raise Unauthorized("Bridge token is not valid", code="INVALID_BRIDGE_TOKEN")
    if not account.active:
        raise Forbidden("This trading account is disabled", code="ACCOUNT_DISABLED")
    caller = BridgeCaller(account=account, token_hash=str(item["token_hash"]))
    setattr(event, _CACHE_ATTR, caller)
    return caller


def require_bridge_token(func: F) -> F:
    """The route is for a bridge agent: a valid bridge token of an active account (401/403 otherwise)."""
    return guarded_by("bridge_token", bridge_caller)(func)


def _bridge_token_or_user(source: Any) -> object:
    if presented_bridge_token(request_event(source)) is not None:
        return bridge_caller(source)
    return current_principal(source)


def require_bridge_token_or_user(func: F) -> F:
    """The route takes a bridge token, or else a user's credentials (JWT or API key)."""
    return guarded_by("bridge_token_or_user", _bridge_token_or_user)(func)
