"""Guards on a tiny resolver: who may call, with what credentials, resolved once per request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel
from signalos.common import guards
from signalos.common.api import create_app
from signalos.common.guards import (
    current_principal,
    optional_principal,
    require_admin,
    require_auth,
    require_feature,
)
from signalos.common.observability import instrumented
from signalos.common.tokens import issue_access_token, issue_refresh_token

KEY = "unit-test-signing-key-" + "k" * 40
router = Router()


class NoteIn(BaseModel):
    text: str


@router.get("/me")
@require_auth
def me() -> dict:
    p = current_principal(router)
    return {"user_id": p.user_id, "role": p.role, "method": p.auth_method, "features": sorted(p.features)}


@router.get("/maybe")
def maybe() -> dict:
    p = optional_principal(router)
    return {"user_id": p.user_id if p else None}


@router.get("/admin-only")
@require_admin
def admin_only() -> dict:
    return {"ok": True}


@router.post("/trade/<account_id>")
@require_feature("auto_trading")
def trade(account_id: str, body: NoteIn) -> dict:
    return {"account_id": account_id, "text": body.text}


@router.get("/twice")
@require_auth
def twice() -> dict:
    return {"same": current_principal(router) is current_principal(router)}


app = create_app("guards-test")
app.include_router(router)
handler = instrumented(app)


@pytest.fixture(autouse=True)
def signing_key(monkeypatch):
    monkeypatch.setenv("JWT_SIGNING_KEY", KEY)


def token(role="user", features=("auto_trading",), license_expires_at=None, key=KEY, **kw) -> dict[str, str]:
    issued = issue_access_token(key, user_id=kw.get("user_id", "usr_a"), username="ann", role=role,
                                license_tier="pro", features=features, license_expires_at=license_expires_at,
                                session_id="ses_1", now=kw.get("now"))
    return {"authorization": f"Bearer {issued.token}"}


def test_no_credentials_is_401(call):
    status, headers, body = call(handler, "GET", "/me")
    assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"
    assert headers["WWW-Authenticate"].startswith("Bearer")


def test_valid_access_token(call):
    status, _, body = call(handler, "GET", "/me", headers=token())
    assert status == 200 and body == {"user_id": "usr_a", "role": "user", "method": "jwt",
                                      "features": ["auto_trading"]}


def test_optional_principal(call):
    assert call(handler, "GET", "/maybe")[2] == {"user_id": None}
    assert call(handler, "GET", "/maybe", headers=token())[2] == {"user_id": "usr_a"}
    assert call(handler, "GET", "/maybe", headers={"authorization": "Bearer junk"})[0] == 401


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "Bearer", "Bearer ", "Token abc"])
def test_malformed_authorization_is_401(call, header):
    status, _, body = call(handler, "GET", "/me", headers={"authorization": header})
    assert status == 401 and body["error"]["code"] == "INVALID_TOKEN"


def test_refresh_token_is_not_an_access_token(call):
    refresh = issue_refresh_token(KEY, user_id="usr_a", family_id="ses_1").token
    status, _, body = call(handler, "GET", "/me", headers={"authorization": f"Bearer {refresh}"})
    assert status == 401 and body["error"]["code"] == "WRONG_TOKEN_TYPE"


def test_expired_token(call):
    old = datetime.now(UTC) - timedelta(hours=1)
    status, _, body = call(handler, "GET", "/me", headers=token(now=old))
    assert status == 401 and body["error"]["code"] == "TOKEN_EXPIRED"


def test_token_signed_with_another_key(call):
    status, _, _ = call(handler, "GET", "/me", headers=token(key="x" * 64))
    assert status == 401


def test_require_admin(call):
    assert call(handler, "GET", "/admin-only")[0] == 401
    status, _, body = call(handler, "GET", "/admin-only", headers=token(role="user"))
    assert status == 403 and body["error"]["code"] == "ADMIN_REQUIRED"
    assert call(handler, "GET", "/admin-only", headers=token(role="admin"))[0] == 200


def test_require_feature(call):
    status, _, body = call(handler, "POST", "/trade/acc_1", body={"text": "hi"}, headers=token(features=()))
    assert status == 403
    assert body["error"]["code"] == "FEATURE_NOT_LICENSED"
    assert body["error"]["details"] == {"feature": "auto_trading", "license_tier": "pro", "expired": False}
    status, _, body = call(handler, "POST", "/trade/acc_1", body={"text": "hi"}, headers=token())
    assert status == 200 and body == {"account_id": "acc_1", "text": "hi"}


def test_require_feature_refuses_an_expired_license(call):
    expired = int((datetime.now(UTC) - timedelta(days=1)).timestamp())
    status, _, body = call(handler, "POST", "/trade/acc_1", body={"text": "hi"},
                           headers=token(license_expires_at=expired))
    assert status == 403 and body["error"]["details"]["expired"] is True


def test_decorated_route_keeps_validation(call):
    status, _, body = call(handler, "POST", "/trade/acc_1", body={"nope": 1}, headers=token())
    assert status == 422 and body["error"]["details"]["fields"][0]["field"] == "body.text"


def test_unknown_feature_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown license feature"):
        require_feature("teleportation")


def test_principal_is_resolved_once_per_request(call, monkeypatch):
    calls = []
    original = guards._resolve

    def counting(event):
        calls.append(1)
        return original(event)

    monkeypatch.setattr(guards, "_resolve", counting)
    assert call(handler, "GET", "/twice", headers=token())[2] == {"same": True}
    assert len(calls) == 1
    # and not cached across requests: a second request with no credentials is refused
    assert call(handler, "GET", "/twice")[0] == 401
    assert len(calls) == 2


def test_api_key_scopes_follow_the_method():
    p = guards.Principal("u", "n", "user", "pro", frozenset(), "api_key", scopes=frozenset({"read"}))
    guards._check_scope(p, "GET")
    with pytest.raises(guards.Forbidden):
        guards._check_scope(p, "POST")
    admin_without_scope = guards.Principal("u", "n", "admin", "pro", frozenset(), "api_key",
                                           scopes=frozenset({"read", "write"}))
    assert not admin_without_scope.is_admin
