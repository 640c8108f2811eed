"""Who is calling, and may they: the principal of a request and the decorators that demand one.

    from signalos.common.guards import current_principal, require_admin, require_auth, require_feature

    @router.post("/api/v1/bridge/register")
    @require_feature("auto_trading")          # 401 without credentials, 403 FEATURE_NOT_LICENSED
    def register(body: RegisterIn) -> RegisterOut:
        principal = current_principal(router)  # Principal(user_id, username, role, ...)

Credentials, in order: `Authorization: Bearer <access JWT>` (or `Bearer sos_...`), then
`X-API-Key: sos_...`. The principal is resolved once per request and cached on the request's
event object (Powertools creates a new one per invocation, so nothing leaks between requests).

API keys are scoped: `read` allows GET/HEAD/OPTIONS, `write` everything else, `admin` lets an
admin's key reach admin routes. JWTs carry every scope of their user.

Access JWTs carry the role and license, so authenticating one needs no database read; a role or
license change reaches the caller at their next refresh (access tokens live 15 minutes).
API keys are looked up in USERS_TABLE on each request (a key revocation is immediate).

Order of checks: each decorator marks its route function with a `RouteGuard` (see `route_guards`),
and `signalos.common.api.create_app` enforces the marked guards of the matched route BEFORE
Powertools validates the request. So a caller without credentials gets 401 and a caller without
the role/feature/scope gets 403 whatever the body, and never learns the schema from a 422. The
decorator's wrapper checks again when the route function runs (a cached principal: no second
token decode or key lookup), which keeps the decorators working on any resolver, and on a route
whose validation is turned off. Other kinds of credentials (bridge tokens) use `guarded_by`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from signalos.common.clock import parse_iso, utc_now
from signalos.common.errors import Forbidden, Unauthorized

FEATURES = ("signal_parsing", "auto_trading", "telegram_integration", "multi_account", "advanced_strategies")
ROLES = ("user", "admin")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALL_SCOPES = frozenset({"read", "write", "admin"})
_CACHE_ATTR = "_signalos_principal"
_GUARDS_ATTR = "__signalos_route_guards__"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    role: str
    license_tier: str
    features: frozenset[str]
    auth_method: str  # "jwt" | "api_key"
    scopes: frozenset[str] = field(default=ALL_SCOPES)
    session_id: str | None = None
    api_key_id: str | None = None
    license_expires_at: int | None = None  # epoch seconds; None = does not expire

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and "admin" in self.scopes

    def has_feature(self, name: str) -> bool:
        return name in self.features


def effective_features(features: Iterable[str], license_expires_at: int | None,
                       now: float | None = None) -> frozenset[str]:
    """Features a license grants right now: none once it has expired."""
    now = utc_now().timestamp() if now is None else now
    if license_expires_at is not None and license_expires_at <= now:
        return frozenset()
    return frozenset(f for f in features if f in FEATURES)


def license_expiry_epoch(license_: Mapping[str, Any] | None) -> int | None:
    expires = (license_ or {}).get("expires_at")
    if not expires:
        return None
    return int(parse_iso(str(expires)).timestamp())


# --- resolving the principal -------------------------------------------------------------

def request_event(source: Any = None) -> Any:
    """The event of the request being handled: `source.current_event` (a resolver or router), else the
    one Powertools stores for the running request."""
    if source is not None:
        return source.current_event
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    return BaseRouter.current_event


def _header(event: Any, name: str) -> str | None:
    headers = event.headers or {}
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _from_access_token(token: str) -> Principal:
    from signalos.common.secrets import jwt_signing_key
    from signalos.common.tokens import ACCESS, TokenError, decode_token

    try:
        claims = decode_token(token, jwt_signing_key(), expected_type=ACCESS)
    except TokenError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc
    lexp = claims.get("lexp")
    lexp = int(lexp) if isinstance(lexp, int | float) else None
    return Principal(
        user_id=claims["sub"], username=str(claims.get("usr", "")), role=str(claims.get("role", "user")),
        license_tier=str(claims.get("tier", "")), features=effective_features(claims.get("feat") or [], lexp),
        auth_method="jwt", session_id=claims.get("sid"), license_expires_at=lexp,
    )


def _from_api_key(raw: str) -> Principal:
    from signalos.common import apikeys
    from signalos.common.dynamo import Table

    item = apikeys.find_key(raw) if apikeys.looks_like_key(raw) else None
    if item is None:
        raise Unauthorized("API key is not valid", code="INVALID_API_KEY")
    expires = item.get("expires_at_iso")
    if expires and parse_iso(expires) <= utc_now():
        raise Unauthorized("API key has expired", code="API_KEY_EXPIRED")
    user = Table.from_env("USERS_TABLE").get(f"USER#{item['user_id']}", "PROFILE")
    if user is None or user.get("status", "active") != "active":
        raise Unauthorized("API key is not valid", code="INVALID_API_KEY")
    license_ = user.get("license") or {}
    lexp = license_expiry_epoch(license_)
    return Principal(
        user_id=user["user_id"], username=user["username"], role=user.get("role", "user"),
        license_tier=str(license_.get("tier", "")),
        features=effective_features(license_.get("features") or [], lexp), auth_method="api_key",
        scopes=frozenset(item.get("scopes") or ()) & ALL_SCOPES,
        api_key_id=item.get("key_id"), license_expires_at=lexp,
    )


def _resolve(event: Any) -> Principal | None:
    authorization = _header(event, "authorization")
    if authorization:
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthorized("Use 'Authorization: Bearer <token>'", code="INVALID_TOKEN")
        if credential.startswith("sos_"):
            return _from_api_key(credential)
        return _from_access_token(credential)
    api_key = _header(event, "x-api-key")
    if api_key:
        return _from_api_key(api_key.strip())
    return None


def _check_scope(principal: Principal, method: str) -> None:
    needed = "read" if method.upper() in READ_METHODS else "write"
    if needed not in principal.scopes:
        raise Forbidden(f"This API key lacks the '{needed}' scope", code="INSUFFICIENT_SCOPE",
                        details={"required_scope": needed})


def optional_principal(router: Any = None) -> Principal | None:
    """The caller, or None when the request carries no credentials (bad credentials: 401)."""
    event = request_event(router)
    cached = getattr(event, _CACHE_ATTR, None)
    if cached is not None:
        return cached if isinstance(cached, Principal) else None
    principal = _resolve(event)
    if principal is not None:
        _check_scope(principal, event.http_method)
    setattr(event, _CACHE_ATTR, principal if principal is not None else False)
    return principal


def current_principal(router: Any = None) -> Principal:
    """The authenticated caller of the request being handled by `router`; 401 if none."""
    principal = optional_principal(router)
    if principal is None:
        raise Unauthorized()
    return principal


# --- decorators ------------------------------------------------------------------------------

def _keep_signature(wrapper: Callable[..., Any], func: Callable[..., Any]) -> None:
    # Powertools reads the route's signature (for validation and OpenAPI) and resolves string
    # annotations in the function's module: give it the wrapped function's resolved signature.
    try:
        wrapper.__signature__ = inspect.signature(func, eval_str=True)  # type: ignore[attr-defined]
    except Exception:
        wrapper.__signature__ = inspect.signature(func)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RouteGuard:
    """A requirement a route puts on its caller: `enforce(source)` raises an ApiError (401/403) to refuse.

    `source` is what holds the request's event (the resolver, in create_app's middleware) or None
    (the wrapper itself: the event Powertools stores for the running request).
    """

    name: str
    enforce: Callable[[Any], object]


def route_guards(func: Callable[..., Any]) -> tuple[RouteGuard, ...]:
    """The guards a route function was decorated with, outermost first (empty for a public route)."""
    return tuple(getattr(func, _GUARDS_ATTR, ()))


def enforce_route_guards(func: Callable[..., Any], source: Any = None) -> None:
    """Refuse the request (401/403) unless its caller meets every guard of the route function."""
    for guard in route_guards(func):
        guard.enforce(source)


def guarded_by(name: str, enforce: Callable[[Any], object]) -> Callable[[F], F]:
    """Decorator: the route demands what `enforce` checks, before its request is validated.

    The wrapper also checks on every call, so the route is guarded on any resolver; create_app's
    middleware runs the same check earlier (before validation) for the matched route.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            enforce(None)
            return func(*args, **kwargs)

        _keep_signature(wrapper, func)
        # functools.wraps copied the inner decorators' guards; this one runs before them.
        setattr(wrapper, _GUARDS_ATTR, (RouteGuard(name, enforce), *route_guards(func)))
        return wrapper  # type: ignore[return-value]

    return decorate


def _guarded(name: str, check: Callable[[Principal], None]) -> Callable[[F], F]:
    return guarded_by(name, lambda source: check(current_principal(source)))


def require_auth(func: F) -> F:
    """Demand a valid principal (401 otherwise)."""
    return _guarded("auth", lambda principal: None)(func)


def _admin_check(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Administrator role required", code="ADMIN_REQUIRED")
    # An access token carries the role it was issued with for up to 15 minutes; admin power is
    # too much to leave with someone demoted or disabled since, so read the user as they are now.
    from signalos.auth import data as users

    current = users.get_user(principal.user_id)
    if current is None or current.get("status", "active") != "active" or current.get("role") != "admin":
        raise Forbidden("Administrator role required", code="ADMIN_REQUIRED")


def require_admin(func: F) -> F:
    """Demand an admin (403 ADMIN_REQUIRED for anyone else, 401 without credentials)."""
    return _guarded("admin", _admin_check)(func)


def require_feature(name: str) -> Callable[[F], F]:
    """Demand a license feature (403 FEATURE_NOT_LICENSED when the caller's license lacks it)."""
    if name not in FEATURES:
        raise ValueError(f"unknown license feature {name!r}; known: {', '.join(FEATURES)}")

    def check(principal: Principal) -> None:
        if not principal.has_feature(name):
            lexp = principal.license_expires_at
            expired = lexp is not None and lexp <= utc_now().timestamp()
            message = ("Your license has expired" if expired
                       else f"Your license ({principal.license_tier or 'none'}) does not include {name}")
            details = {"feature": name, "license_tier": principal.license_tier, "expired": expired}
            raise Forbidden(message, code="FEATURE_NOT_LICENSED", details=details)

    return _guarded(f"feature:{name}", check)
