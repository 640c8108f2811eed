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


@pytest.fixture
def stored_user(aws, monkeypatch):
    """usr_a as the Users table holds it now (admin checks read the user, not just the token)."""
    from signalos.auth import data as users

    monkeypatch.setenv("JWT_SIGNING_KEY", KEY)  # the embedded AWS cleared it; tokens here use KEY

    def store(role: str = "admin", status: str = "active") -> None:
        if users.get_user("usr_a") is None:
            users.create_user({"user_id": "usr_a", "username": "ann", "role": role, "status": status,
                               "created_at": "2026-11-22T00:00:00.000Z"})
        else:
            users.update_user_fields("usr_a", {"role": role, "status": status})

    return store


def test_require_admin(call, stored_user):
    stored_user(role="admin")
    assert call(handler, "GET", "/admin-only")[0] == 401
    status, _, body = call(handler, "GET", "/admin-only", headers=token(role="user"))
    assert status == 403 and body["error"]["code"] == "ADMIN_REQUIRED"
    assert call(handler, "GET", "/admin-only", headers=token(role="admin"))[0] == 200


@pytest.mark.parametrize(("role", "status"), [("user", "active"), ("admin", "disabled")])
def test_admin_token_of_a_demoted_or_disabled_user_is_refused_at_once(call, stored_user, role, status):
    stored_user(role=role, status=status)
    status_code, _, body = call(handler, "GET", "/admin-only", headers=token(role="admin"))
    assert status_code == 403 and body["error"]["code"] == "ADMIN_REQUIRED"


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


# --- the caller is checked before the request is validated --------------------------------------

order_router = Router()
checks: list[str] = []


class StrictIn(BaseModel):
    text: str
    count: int


def _custom_enforce(source) -> None:
    # A non-principal credential (as bridge tokens are): a fixed header value.
    checks.append("custom")
    event = guards.request_event(source)
    if (event.headers or {}).get("x-door") != "open":
        raise guards.Unauthorized("door closed", code="DOOR_CLOSED")


@order_router.post("/o/auth")
@require_auth
def o_auth(body: StrictIn) -> dict:
    return {"ok": True}


@order_router.post("/o/admin")
@require_admin
def o_admin(body: StrictIn) -> dict:
    return {"ok": True}


@order_router.post("/o/feature")
@require_feature("auto_trading")
def o_feature(body: StrictIn) -> dict:
    return {"ok": True}


@order_router.post("/o/public")
def o_public(body: StrictIn) -> dict:
    return {"ok": True}


@order_router.post("/o/custom")
@guards.guarded_by("door", _custom_enforce)
def o_custom(body: StrictIn) -> dict:
    return {"ok": True}


@order_router.post("/o/stacked")
@require_auth
@require_feature("telegram_integration")
def o_stacked(body: StrictIn) -> dict:
    return {"ok": True}


@order_router.post("/o/unvalidated", enable_validation=False)
@require_admin
def o_unvalidated() -> dict:
    return {"ok": True}


order_app = create_app("guards-order-test")
order_app.include_router(order_router)
order_handler = instrumented(order_app)
BAD = {"text": 5}  # text has the wrong type, count is missing: 422 for whoever may call


@pytest.mark.parametrize("path", ["/o/auth", "/o/admin", "/o/feature", "/o/stacked"])
def test_no_credentials_and_a_bad_body_is_401_not_422(call, path):
    status, _, body = call(order_handler, "POST", path, body=BAD)
    assert status == 401 and body["error"]["code"] == "UNAUTHORIZED"
    assert "fields" not in (body["error"].get("details") or {})


@pytest.mark.parametrize("path", ["/o/auth", "/o/admin", "/o/feature"])
def test_no_credentials_and_broken_json_is_401_not_400(call, path):
    status, _, body = call(order_handler, "POST", path, raw_body="{not json")
    assert status == 401, body


@pytest.mark.parametrize(("path", "headers", "code"), [
    ("/o/admin", {"role": "user"}, "ADMIN_REQUIRED"),
    ("/o/feature", {"features": ()}, "FEATURE_NOT_LICENSED"),
    ("/o/stacked", {"features": ("auto_trading",)}, "FEATURE_NOT_LICENSED"),
])
def test_caller_without_the_role_or_feature_and_a_bad_body_is_403(call, path, headers, code):
    status, _, body = call(order_handler, "POST", path, body=BAD, headers=token(**headers))
    assert status == 403 and body["error"]["code"] == code


@pytest.mark.parametrize(("path", "headers"), [
    ("/o/auth", {}), ("/o/admin", {"role": "admin"}), ("/o/feature", {}),
    ("/o/stacked", {"features": ("telegram_integration",)}),
])
def test_a_caller_who_may_call_gets_the_validation_error(call, stored_user, path, headers):
    stored_user(role="admin")
    status, _, body = call(order_handler, "POST", path, body=BAD, headers=token(**headers))
    assert status == 422
    assert {f["field"] for f in body["error"]["details"]["fields"]} == {"body.text", "body.count"}
    good = {"text": "hi", "count": 1}
    assert call(order_handler, "POST", path, body=good, headers=token(**headers))[0] == 200


def test_public_route_still_validates_for_anyone(call):
    status, _, body = call(order_handler, "POST", "/o/public", body=BAD)
    assert status == 422 and body["error"]["code"] == "VALIDATION_ERROR"
    assert call(order_handler, "POST", "/o/public", body={"text": "a", "count": 2})[0] == 200


def test_read_only_api_key_scope_is_403_before_validation(call, monkeypatch):
    read_only = guards.Principal("usr_k", "kay", "user", "pro", frozenset({"auto_trading"}), "api_key",
                                 scopes=frozenset({"read"}))
    monkeypatch.setattr(guards, "_from_api_key", lambda raw: read_only)
    status, _, body = call(order_handler, "POST", "/o/feature", body=BAD, headers={"x-api-key": "sos_x"})
    assert status == 403 and body["error"]["code"] == "INSUFFICIENT_SCOPE"


def test_custom_guard_runs_before_validation_and_again_in_the_wrapper(call):
    checks.clear()
    status, _, body = call(order_handler, "POST", "/o/custom", body=BAD)
    assert status == 401 and body["error"]["code"] == "DOOR_CLOSED" and checks == ["custom"]
    checks.clear()
    assert call(order_handler, "POST", "/o/custom", body=BAD, headers={"x-door": "open"})[0] == 422
    checks.clear()
    ok = call(order_handler, "POST", "/o/custom", body={"text": "a", "count": 1}, headers={"x-door": "open"})
    assert ok[0] == 200 and checks == ["custom", "custom"]


def test_route_without_validation_is_still_guarded_by_its_wrapper(call, stored_user):
    stored_user(role="admin")
    assert call(order_handler, "POST", "/o/unvalidated")[0] == 401
    assert call(order_handler, "POST", "/o/unvalidated", headers=token())[0] == 403
    assert call(order_handler, "POST", "/o/unvalidated", headers=token(role="admin"))[0] == 200


def test_guards_are_listed_outermost_first():
    assert [g.name for g in guards.route_guards(o_stacked)] == ["auth", "feature:telegram_integration"]
    assert [g.name for g in guards.route_guards(o_admin)] == ["admin"]
    assert guards.route_guards(o_public) == ()


def test_decorators_still_guard_a_plain_resolver():
    # Without create_app (no early check, no error handlers) the wrapper refuses the caller all the same.
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    from tests.unit.common.conftest import http_event

    plain = APIGatewayHttpResolver()

    @plain.get("/plain")
    @require_feature("auto_trading")
    def plain_route() -> dict:
        return {"ok": True}

    with pytest.raises(guards.Forbidden):
        plain.resolve(http_event("GET", "/plain", headers=token(features=())), None)
    assert plain.resolve(http_event("GET", "/plain", headers=token()), None)["statusCode"] == 200
