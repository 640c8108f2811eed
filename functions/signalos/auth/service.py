"""Accounts and sessions: what each auth route does, over the pure pieces and data.py.

Pure pieces (tested directly): passwords, lockout, licenses, devices, signalos.common.tokens.
Errors are signalos.common.errors (the routes let them through to the error body).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from signalos.auth import data, devices, licenses, lockout, passwords
from signalos.common import apikeys, audit
from signalos.common.clock import epoch_seconds, iso, parse_iso, utc_now
from signalos.common.dynamo import ConditionFailed, Item
from signalos.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from signalos.common.guards import Principal, license_expiry_epoch
from signalos.common.ids import new_id
from signalos.common.observability import count, logger
from signalos.common.secrets import jwt_signing_key
from signalos.common.tokens import (
    REFRESH,
    REFRESH_TOKEN_SECONDS,
    TokenError,
    decode_token,
    issue_access_token,
    issue_refresh_token,
    new_jti,
)

MAX_API_KEYS_PER_USER = 25
INVALID_CREDENTIALS = "Invalid username or password"


# --- shaping ---------------------------------------------------------------------------------

def user_out(user: Item) -> dict[str, Any]:
    """The user as responses show it (explicit fields: never the hash or lockout counters)."""
    license_ = user.get("license") or {}
    return {
        "id": user["user_id"], "user_id": user["user_id"], "username": user["username"],
        "email": user.get("email"), "full_name": user.get("full_name"), "timezone": user.get("timezone"),
        "role": user.get("role", "user"), "status": user.get("status", "active"),
        "license_type": license_.get("tier", ""),
        "license": {"tier": license_.get("tier", ""), "expires_at": license_.get("expires_at"),
                    "device_limit": int(license_.get("device_limit", 0)),
                    "features": sorted(license_.get("features") or [])},
        "created_at": user["created_at"], "last_login_at": user.get("last_login_at"),
    }


def _field_error(field: str, message: str, type_: str = "value_error") -> ValidationFailed:
    return ValidationFailed(details={"fields": [{"field": field, "type": type_, "message": message}]})


def _bump(counter: str) -> None:
    count(counter)
    try:
        data.increment(counter)
    except Exception:  # a counter must never fail the request it counts
        logger.warning("counter update failed", extra={"counter": counter}, exc_info=True)


# --- register --------------------------------------------------------------------------------

def register(*, username: str, password: str, email: str | None = None, full_name: str | None = None,
             role: str = "user", license_: dict[str, Any] | None = None) -> Item:
    problem = passwords.policy_problem(password, username)
    if problem:
        raise _field_error("body.password", f"Password {problem}")
    if data.find_user_id(username):
        raise Conflict("That username is taken", code="USERNAME_TAKEN")
    now = iso()
    user: dict[str, Any] = {
        "user_id": new_id("usr"), "username": username, "username_lc": username.strip().lower(),
        "email": email, "full_name": full_name, "role": role, "status": "active",
        "license": license_ or licenses.default_license(),
        "password_hash": passwords.hash_password(password), "password_changed_at": now,
        "failed_logins": 0, "device_count": 0, "created_at": now, "updated_at": now,
    }
    try:
        data.create_user(user)
    except ConditionFailed as exc:
        raise Conflict("That username is taken", code="USERNAME_TAKEN") from exc
    audit.record(audit.USER_REGISTERED, user_id=user["user_id"], details={"username": username})
    _bump("users_registered")
    return user


# --- login -----------------------------------------------------------------------------------

def _fail_login(user: Item) -> None:
    now = utc_now()
    last = user.get("last_failed_at")
    last_failed = parse_iso(last) if last else None
    failures = lockout.counted_failures(int(user.get("failed_logins", 0)), last_failed, now)
    until = lockout.locked_until(failures, now)
    data.record_failed_login(user["user_id"], failures=failures, at=iso(now),
                             locked_until=iso(until) if until else None)
    audit.record(audit.LOGIN_FAILED, user_id=user["user_id"], outcome="failure",
                 details={"reason": "bad_password", "failures": failures})
    _bump("logins_failed")
    if until:
        audit.record(audit.ACCOUNT_LOCKED, user_id=user["user_id"], outcome="failure",
                     details={"failures": failures, "locked_until": iso(until),
                              "lock_seconds": lockout.lock_seconds(failures)})


def _check_not_locked(user: Item) -> None:
    locked = user.get("locked_until")
    seconds = lockout.retry_after(parse_iso(locked) if locked else None, utc_now())
    if seconds:
        raise TooManyRequests("Too many failed logins; try again later", code="ACCOUNT_LOCKED",
                              retry_after=seconds, details={"retry_after_seconds": seconds})


def authenticate(username: str, password: str) -> Item:
    """The user these credentials belong to (401 / 429 / 403 otherwise). Counts failures."""
    user_id = data.find_user_id(username)
    user = data.get_user(user_id) if user_id else None
    if user is None:
        passwords.burn_time()  # an unknown name must not answer faster than a wrong password
        audit.record(audit.LOGIN_FAILED, user_id=None, outcome="failure",
                     details={"reason": "unknown_user", "username": username[:64]})
        _bump("logins_failed")
        raise Unauthorized(INVALID_CREDENTIALS, code="INVALID_CREDENTIALS")
    _check_not_locked(user)
    if not passwords.verify_password(user.get("password_hash", ""), password):
        _fail_login(user)
        raise Unauthorized(INVALID_CREDENTIALS, code="INVALID_CREDENTIALS")
    if user.get("status", "active") != "active":
        raise Forbidden("This account is disabled", code="ACCOUNT_DISABLED")
    return user


def bind_device(user: Item, device_info: dict[str, Any]) -> str:
    """Bind the login's device (or refresh its last_seen); 403 past the license's device limit."""
    device_id = devices.fingerprint(device_info)
    now = iso()
    if data.get_device(user["user_id"], device_id):
        data.touch_device(user["user_id"], device_id, now)
        return device_id
    limit = int((user.get("license") or {}).get("device_limit", 0))
    record = {"device_id": device_id, "label": devices.label(device_info), "info": devices.clean(device_info),
              "first_seen_at": now, "last_seen_at": now}
    try:
        data.bind_device(user["user_id"], record, device_limit=limit)
    except ConditionFailed as exc:
        if data.get_device(user["user_id"], device_id):  # the same device, bound by a concurrent login
            return device_id
        raise Forbidden(f"This license allows {limit} device(s); remove one to use this device",
                        code="DEVICE_LIMIT_REACHED", details={"device_limit": limit}) from exc
    audit.record(audit.DEVICE_BOUND, user_id=user["user_id"], details={"device_id": device_id})
    return device_id


def _issue_tokens(user: Item, family_id: str, jti: str) -> dict[str, Any]:
    key = jwt_signing_key()
    license_ = user.get("license") or {}
    access = issue_access_token(
        key, user_id=user["user_id"], username=user["username"], role=user.get("role", "user"),
        license_tier=str(license_.get("tier", "")), features=licenses.active_features(license_),
        license_expires_at=license_expiry_epoch(license_), session_id=family_id,
    )
    refresh = issue_refresh_token(key, user_id=user["user_id"], family_id=family_id, jti=jti)
    return {"access_token": access.token, "token_type": "bearer", "expires_in": access.expires_in,
            "refresh_token": refresh.token, "refresh_expires_in": refresh.expires_in, "user": user_out(user)}


def _session_expiry() -> int:
    # The family outlives its newest refresh token by a day, so a late reuse is still recognised.
    return epoch_seconds(utc_now() + timedelta(seconds=REFRESH_TOKEN_SECONDS, days=1))


def login(*, username: str, password: str, device_info: dict[str, Any] | None = None) -> dict[str, Any]:
    user = authenticate(username, password)
    device_id = bind_device(user, device_info) if device_info else None
    now = iso()
    new_hash = passwords.hash_password(password) if passwords.needs_rehash(user["password_hash"]) else None
    data.record_successful_login(user["user_id"], at=now, password_hash=new_hash)
    user["last_login_at"] = now
    family_id, jti = new_id("ses"), new_jti()
    data.create_session(user["user_id"], {
        "family_id": family_id, "current_jti": jti, "status": "active", "device_id": device_id,
        "created_at": now, "last_used_at": now, "rotations": 0, "expires_at": _session_expiry(),
    })
    audit.record(audit.LOGIN_SUCCEEDED, user_id=user["user_id"],
                 details={"session_id": family_id, "device_id": device_id})
    _bump("logins_succeeded")
    return {**_issue_tokens(user, family_id, jti), "device_id": device_id}


# --- refresh / logout ------------------------------------------------------------------------

def _decode_refresh(token: str) -> dict[str, Any]:
    try:
        return decode_token(token, jwt_signing_key(), expected_type=REFRESH)
    except TokenError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc


def refresh(refresh_token: str) -> dict[str, Any]:
    """Rotate: the presented refresh token is spent and a new pair issued. Presenting a token that
    was already spent means it was copied: the whole family is revoked."""
    claims = _decode_refresh(refresh_token)
    user_id, family_id, jti = claims["sub"], claims["fam"], claims["jti"]
    user = data.get_user(user_id)
    if user is None or user.get("status", "active") != "active":
        raise Unauthorized("Session is no longer valid", code="SESSION_REVOKED")
    new = new_jti()
    try:
        data.rotate_session(user_id, family_id, presented_jti=jti, new_jti=new, at=iso(),
                            expires_at=_session_expiry())
    except ConditionFailed as exc:
        session = data.get_session(user_id, family_id)
        if session is not None and session.get("status") == "active" and session.get("current_jti") != jti:
            data.revoke_session(user_id, family_id, reason="reuse_detected", at=iso())
            audit.record(audit.TOKEN_REUSE_DETECTED, user_id=user_id, outcome="failure",
                         details={"session_id": family_id})
            _bump("refresh_reuse_detected")
            raise Unauthorized("Refresh token was already used; the session has been revoked",
                               code="REFRESH_TOKEN_REUSED") from exc
        raise Unauthorized("Session is no longer valid", code="SESSION_REVOKED") from exc
    return _issue_tokens(user, family_id, new)


def logout(principal: Principal | None, refresh_token: str | None) -> int:
    """Revoke the caller's current session and/or the presented refresh token's family."""
    revoked = 0
    owner = principal.user_id if principal else None
    if refresh_token:
        try:
            claims = _decode_refresh(refresh_token)
        except Unauthorized:
            claims = None
        if claims and (owner is None or claims["sub"] == owner):
            owner = claims["sub"]
            revoked += data.revoke_session(claims["sub"], claims["fam"], reason="logout", at=iso())
        elif principal is None:
            raise Unauthorized("Send a valid refresh token or an access token", code="INVALID_TOKEN")
    if principal is not None and principal.session_id:
        revoked += data.revoke_session(principal.user_id, principal.session_id, reason="logout", at=iso())
    if owner is None:
        raise Unauthorized()
    audit.record(audit.LOGOUT, user_id=owner, details={"sessions_revoked": revoked})
    return revoked


def revoke_sessions(user_id: str, *, keep: str | None = None, reason: str) -> int:
    revoked = 0
    for session in data.list_sessions(user_id):
        if session.get("status") == "active" and session["family_id"] != keep:
            revoked += data.revoke_session(user_id, session["family_id"], reason=reason, at=iso())
    return revoked


# --- profile / password ----------------------------------------------------------------------

def get_profile(user_id: str) -> Item:
    user = data.get_user(user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def update_profile(user_id: str, changes: dict[str, Any]) -> Item:
    allowed = {k: v for k, v in changes.items() if k in {"email", "full_name", "timezone"}}
    if not allowed:
        return get_profile(user_id)
    try:
        return data.update_user_fields(user_id, allowed)
    except ConditionFailed as exc:
        raise NotFound("User not found") from exc


def change_password(principal: Principal, current_password: str, new_password: str) -> int:
    user = get_profile(principal.user_id)
    _check_not_locked(user)
    if not passwords.verify_password(user.get("password_hash", ""), current_password):
        _fail_login(user)
        raise Unauthorized("Current password is wrong", code="INVALID_CREDENTIALS")
    problem = passwords.policy_problem(new_password, user["username"])
    if problem:
        raise _field_error("body.new_password", f"Password {problem}")
    if passwords.verify_password(user["password_hash"], new_password):
        raise _field_error("body.new_password", "New password must differ from the current one")
    data.update_user_fields(principal.user_id, {"password_hash": passwords.hash_password(new_password),
                                                "password_changed_at": iso(), "failed_logins": 0},
                            remove=["locked_until"])
    revoked = revoke_sessions(principal.user_id, keep=principal.session_id, reason="password_changed")
    audit.record(audit.PASSWORD_CHANGED, user_id=principal.user_id, details={"sessions_revoked": revoked})
    return revoked


# --- licenses --------------------------------------------------------------------------------

def license_status(user_id: str) -> dict[str, Any]:
    user = get_profile(user_id)
    return licenses.license_status(user.get("license") or {}, devices_used=int(user.get("device_count", 0)))


def verify_license(user_id: str, *, feature: str | None,
                   device_info: dict[str, Any] | None) -> dict[str, Any]:
    status = license_status(user_id)
    result: dict[str, Any] = dict(status)
    if feature is not None:
        result["feature"] = feature
        result["feature_enabled"] = bool(status["features"].get(feature, False))
    if device_info is not None:
        device_id = devices.fingerprint(device_info)
        result["device_id"] = device_id
        result["device_bound"] = data.get_device(user_id, device_id) is not None
    return result


# --- devices ---------------------------------------------------------------------------------

def list_devices(user_id: str) -> dict[str, Any]:
    user = get_profile(user_id)
    items = [{"device_id": d["device_id"], "label": d.get("label", ""), "info": d.get("info") or {},
              "first_seen_at": d["first_seen_at"], "last_seen_at": d.get("last_seen_at")}
             for d in data.list_devices(user_id)]
    return {"items": items, "next_cursor": None,
            "device_limit": int((user.get("license") or {}).get("device_limit", 0))}


def remove_device(user_id: str, device_id: str) -> None:
    if data.get_device(user_id, device_id) is None:
        raise NotFound("Device not found")
    try:
        data.unbind_device(user_id, device_id)
    except ConditionFailed as exc:
        raise NotFound("Device not found") from exc
    audit.record(audit.DEVICE_REMOVED, user_id=user_id, details={"device_id": device_id})


# --- API keys --------------------------------------------------------------------------------

def api_key_out(item: Item) -> dict[str, Any]:
    return {"key_id": item["key_id"], "name": item["name"], "prefix": item["prefix"],
            "scopes": list(item.get("scopes") or []), "created_at": item["created_at"],
            "expires_at": item.get("expires_at_iso"), "last_used_at": item.get("last_used_at")}


def create_api_key(principal: Principal, *, name: str, scopes: list[str],
                   expires_in_days: int | None) -> dict[str, Any]:
    scopes = sorted(set(scopes))
    if "admin" in scopes and principal.role != "admin":
        raise Forbidden("Only administrators can create admin-scoped keys", code="ADMIN_REQUIRED")
    if principal.auth_method == "api_key":
        raise Forbidden("API keys cannot create API keys; sign in", code="JWT_REQUIRED")
    if len(data.list_api_keys(principal.user_id)) >= MAX_API_KEYS_PER_USER:
        raise Conflict(f"At most {MAX_API_KEYS_PER_USER} API keys; revoke one first", code="API_KEY_LIMIT")
    raw = apikeys.generate()
    now = utc_now()
    expires = iso(now + timedelta(days=expires_in_days)) if expires_in_days else None
    item: dict[str, Any] = {"key_id": new_id("key"), "name": name, "prefix": apikeys.display_prefix(raw),
                            "scopes": scopes, "created_at": iso(now), "expires_at_iso": expires}
    data.create_api_key(principal.user_id, item, key_hash=apikeys.hash_key(raw))
    audit.record(audit.API_KEY_CREATED, user_id=principal.user_id,
                 details={"key_id": item["key_id"], "name": name, "scopes": scopes})
    _bump("api_keys_created")
    return {**api_key_out(item), "api_key": raw}


def list_api_keys(user_id: str) -> dict[str, Any]:
    keys = sorted(data.list_api_keys(user_id), key=lambda k: k["created_at"], reverse=True)
    return {"items": [api_key_out(k) for k in keys], "next_cursor": None}


def revoke_api_key(user_id: str, key_id: str) -> None:
    """Another user's key is "not found": the key id is scoped to its owner's partition."""
    item = data.get_api_key(user_id, key_id)
    if item is None:
        raise NotFound("API key not found")
    try:
        data.delete_api_key(user_id, key_id, item["key_hash"])
    except ConditionFailed as exc:
        raise NotFound("API key not found") from exc
    audit.record(audit.API_KEY_REVOKED, user_id=user_id, details={"key_id": key_id})
