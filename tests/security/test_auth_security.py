"""Security properties of the real auth/status handlers (through template routing, on moto).

reference/security.md: token rules (RFC 8725), refresh reuse, lockout, object-level and
function-level authorization, body limits, error bodies that leak nothing.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from signalos.common import tokens

pytestmark = pytest.mark.usefixtures("aws_module")
A = "/api/v1/auth"
PASSWORD = "correct horse battery"


def new_user(call_api, password=PASSWORD):
    username = f"sec_{uuid.uuid4().hex[:10]}"
    status, _, body = call_api("POST", f"{A}/register", json={"username": username, "password": password})
    assert status == 201, body
    status, _, tokens_ = call_api("POST", f"{A}/login", json={"username": username, "password": password})
    assert status == 200, tokens_
    return username, tokens_


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signing_key(aws_module) -> str:
    return aws_module.secret_json("JwtSigningSecret")["signing_key"]


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def assert_401(call_api, headers, code=None):
    status, _, body = call_api("GET", f"{A}/profile", headers=headers)
    assert status == 401, body
    if code:
        assert body["error"]["code"] == code
    return body


# --- token forgery ---------------------------------------------------------------------------

def test_alg_none_token_is_refused(call_api):
    _, t = new_user(call_api)
    payload = _b64({**claims_of(t["access_token"]), "role": "admin"})
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    assert_401(call_api, bearer(forged), "INVALID_TOKEN")


def test_tampered_payload_is_refused(call_api):
    _, t = new_user(call_api)
    header, _, signature = t["access_token"].split(".")
    tampered = f"{header}.{_b64({**claims_of(t['access_token']), 'role': 'admin'})}.{signature}"
    assert_401(call_api, bearer(tampered), "INVALID_TOKEN")


def test_token_signed_with_another_key_is_refused(call_api):
    _, t = new_user(call_api)
    forged = jwt.encode(claims_of(t["access_token"]), "attacker-chosen-key-" + "x" * 40, algorithm="HS256")
    assert_401(call_api, bearer(forged), "INVALID_TOKEN")


def test_hs_rs_confusion_is_refused(call_api, aws_module):
    # a token signed with another algorithm using the real key still fails: only HS256 is accepted
    _, t = new_user(call_api)
    forged = jwt.encode(claims_of(t["access_token"]), signing_key(aws_module), algorithm="HS512")
    assert_401(call_api, bearer(forged), "INVALID_TOKEN")


def test_expired_token_is_refused(call_api, aws_module):
    _, t = new_user(call_api)
    claims = claims_of(t["access_token"])
    past = int((datetime.now(UTC) - timedelta(hours=2)).timestamp())
    expired = jwt.encode({**claims, "iat": past, "nbf": past, "exp": past + 900}, signing_key(aws_module),
                         algorithm="HS256")
    assert_401(call_api, bearer(expired), "TOKEN_EXPIRED")


def test_wrong_audience_is_refused(call_api, aws_module):
    _, t = new_user(call_api)
    wrong = jwt.encode({**claims_of(t["access_token"]), "aud": "some-other-api"}, signing_key(aws_module),
                       algorithm="HS256")
    assert_401(call_api, bearer(wrong), "INVALID_TOKEN")


def test_wrong_issuer_is_refused(call_api, aws_module):
    _, t = new_user(call_api)
    wrong = jwt.encode({**claims_of(t["access_token"]), "iss": "evil"}, signing_key(aws_module),
                       algorithm="HS256")
    assert_401(call_api, bearer(wrong), "INVALID_TOKEN")


def test_refresh_token_cannot_be_used_as_access_token(call_api):
    _, t = new_user(call_api)
    assert_401(call_api, bearer(t["refresh_token"]), "WRONG_TOKEN_TYPE")


def test_access_token_cannot_be_used_as_refresh_token(call_api):
    _, t = new_user(call_api)
    status, _, body = call_api("POST", f"{A}/refresh-token", json={"refresh_token": t["access_token"]})
    assert status == 401 and body["error"]["code"] == "WRONG_TOKEN_TYPE"


# --- refresh rotation and reuse --------------------------------------------------------------

def test_refresh_token_reuse_revokes_the_whole_family(call_api):
    _, first = new_user(call_api)
    status, _, second = call_api("POST", f"{A}/refresh", json={"refresh_token": first["refresh_token"]})
    assert status == 200
    # the stolen (already spent) token comes back: reuse
    status, _, body = call_api("POST", f"{A}/refresh", json={"refresh_token": first["refresh_token"]})
    assert status == 401 and body["error"]["code"] == "REFRESH_TOKEN_REUSED"
    # ... and the legitimate newest token dies with its family
    status, _, body = call_api("POST", f"{A}/refresh", json={"refresh_token": second["refresh_token"]})
    assert status == 401 and body["error"]["code"] == "SESSION_REVOKED"


def test_reuse_is_audited(call_api):
    from signalos.common import audit

    _, first = new_user(call_api)
    call_api("POST", f"{A}/refresh", json={"refresh_token": first["refresh_token"]})
    call_api("POST", f"{A}/refresh", json={"refresh_token": first["refresh_token"]})
    items, _ = audit.list_for_user(first["user"]["id"])
    assert "refresh_token_reuse_detected" in [i["event"] for i in items]


def test_two_refreshes_with_one_token_cannot_both_win(call_api):
    """The rotation is a conditional write on the family's current token id: the loser of a race
    sees the condition fail exactly as a replay does."""
    from signalos.auth import data
    from signalos.common.dynamo import ConditionFailed

    _, t = new_user(call_api)
    claims = claims_of(t["refresh_token"])
    uid, fam, jti = claims["sub"], claims["fam"], claims["jti"]
    data.rotate_session(uid, fam, presented_jti=jti, new_jti="winner", at="t", expires_at=1)
    with pytest.raises(ConditionFailed):
        data.rotate_session(uid, fam, presented_jti=jti, new_jti="loser", at="t", expires_at=1)
    assert data.get_session(uid, fam)["current_jti"] == "winner"


def test_forged_refresh_token_for_a_real_family_is_refused(call_api):
    _, t = new_user(call_api)
    forged = jwt.encode(claims_of(t["refresh_token"]), "x" * 64, algorithm="HS256")
    status, _, _ = call_api("POST", f"{A}/refresh", json={"refresh_token": forged})
    assert status == 401
    # the family is untouched by the forgery
    assert call_api("POST", f"{A}/refresh", json={"refresh_token": t["refresh_token"]})[0] == 200


# --- lockout ---------------------------------------------------------------------------------

def test_lockout_after_five_failures_then_time_boxed(call_api, aws_module):
    from signalos.auth import data

    username, t = new_user(call_api)
    for _ in range(4):
        assert call_api("POST", f"{A}/login", json={"username": username, "password": "nope nope"})[0] == 401
    status, _, body = call_api("POST", f"{A}/login", json={"username": username, "password": "nope nope"})
    assert status == 401  # the fifth failure itself is a plain failure; it sets the lock
    # locked: even the right password is refused, with a time to wait
    status, headers, body = call_api("POST", f"{A}/login", json={"username": username, "password": PASSWORD})
    assert status == 429 and body["error"]["code"] == "ACCOUNT_LOCKED"
    assert 55 <= int(headers["retry-after"]) <= 60
    # the lock ends on its own (simulate a minute passing) and a success resets the count
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    data.update_user_fields(t["user"]["id"], {"locked_until": past})
    assert call_api("POST", f"{A}/login", json={"username": username, "password": PASSWORD})[0] == 200
    assert data.get_user(t["user"]["id"])["failed_logins"] == 0


def test_lockout_doubles_and_is_capped(call_api):
    from signalos.auth import data

    username, t = new_user(call_api)
    uid = t["user"]["id"]
    recent = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    data.update_user_fields(uid, {"failed_logins": 20, "last_failed_at": recent})
    call_api("POST", f"{A}/login", json={"username": username, "password": "nope nope"})
    status, headers, _ = call_api("POST", f"{A}/login", json={"username": username, "password": PASSWORD})
    assert status == 429 and 890 <= int(headers["retry-after"]) <= 900  # 15 minutes, never more


def test_lockout_of_one_account_does_not_touch_another(call_api):
    victim, _ = new_user(call_api)
    other, _ = new_user(call_api)
    for _ in range(6):
        call_api("POST", f"{A}/login", json={"username": victim, "password": "guess guess"})
    assert call_api("POST", f"{A}/login", json={"username": other, "password": PASSWORD})[0] == 200


# --- object-level authorization: API keys ----------------------------------------------------

def test_user_cannot_see_or_revoke_another_users_api_key(call_api):
    _, alice = new_user(call_api)
    _, bob = new_user(call_api)
    status, _, bob_key = call_api("POST", f"{A}/api-keys", headers=bearer(bob["access_token"]),
                                  json={"name": "b"})
    assert status == 201
    _, _, alice_list = call_api("GET", f"{A}/api-keys", headers=bearer(alice["access_token"]))
    assert alice_list["items"] == []
    status, _, body = call_api("DELETE", f"{A}/api-keys/{bob_key['key_id']}",
                               headers=bearer(alice["access_token"]))
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"
    # Bob's key still works
    status, _, profile = call_api("GET", f"{A}/profile", headers={"X-API-Key": bob_key["api_key"]})
    assert status == 200 and profile["user_id"] == bob["user"]["id"]


def test_api_key_is_stored_only_as_a_hash(call_api):
    from signalos.common.dynamo import Table

    _, t = new_user(call_api)
    _, _, key = call_api("POST", f"{A}/api-keys", headers=bearer(t["access_token"]), json={"name": "k"})
    table = Table.from_env("USERS_TABLE")
    items = list(table.query_all(f"USER#{t['user']['id']}"))
    dumped = json.dumps(items, default=str)
    assert key["api_key"] not in dumped and key["api_key"][len("sos_") + 8:] not in dumped


def test_guessed_and_expired_api_keys_are_refused(call_api):
    from signalos.common import apikeys
    from signalos.common.dynamo import Table

    assert_401(call_api, {"X-API-Key": "sos_" + "A" * 43}, "INVALID_API_KEY")
    assert_401(call_api, {"X-API-Key": "not-even-a-key"}, "INVALID_API_KEY")
    _, t = new_user(call_api)
    _, _, key = call_api("POST", f"{A}/api-keys", headers=bearer(t["access_token"]),
                         json={"name": "k", "expires_in_days": 1})
    Table.from_env("USERS_TABLE").update(apikeys.lookup_pk(apikeys.hash_key(key["api_key"])), "APIKEY",
                                         set_values={"expires_at_iso": "2020-01-01T00:00:00.000Z"})
    assert_401(call_api, {"X-API-Key": key["api_key"]}, "API_KEY_EXPIRED")


# --- function-level authorization ------------------------------------------------------------

def test_non_admin_on_an_admin_route_is_403(call_api):
    from signalos.auth.bootstrap import seed_admin

    _, user = new_user(call_api)
    status, _, body = call_api("GET", "/api/v1/status/metrics", headers=bearer(user["access_token"]))
    assert status == 403 and body["error"]["code"] == "ADMIN_REQUIRED"
    assert call_api("GET", "/metrics")[0] == 401
    admin_name = f"admin_{uuid.uuid4().hex[:8]}"
    assert seed_admin(admin_name, "admin password 123") is True
    assert seed_admin(admin_name, "admin password 123") is False  # idempotent
    _, _, admin = call_api("POST", f"{A}/login",
                           json={"username": admin_name, "password": "admin password 123"})
    status, _, metrics = call_api("GET", "/api/v1/status/metrics", headers=bearer(admin["access_token"]))
    assert status == 200 and metrics["providers"]["auth"]["users_registered"] >= 2


def test_require_admin_on_a_resolver(call_api, aws_module):
    """require_admin with real tokens from login, on a tiny resolver (auth has no admin route)."""
    from aws_lambda_powertools.event_handler.api_gateway import Router
    from signalos.auth.bootstrap import seed_admin
    from signalos.common.api import create_app
    from signalos.common.guards import require_admin

    router = Router()

    @router.get("/api/v1/admin/ping")
    @require_admin
    def ping() -> dict:
        return {"pong": True}

    app = create_app("admin-test")
    app.include_router(router)

    def call(token):
        from infra.local.events import http_event

        event = http_event("GET", "/api/v1/admin/ping", headers={"authorization": f"Bearer {token}"})
        resp = app.resolve(event, None)
        return resp["statusCode"], json.loads(resp["body"])

    _, user = new_user(call_api)
    status, body = call(user["access_token"])
    assert status == 403 and body["error"]["code"] == "ADMIN_REQUIRED"
    name = f"root_{uuid.uuid4().hex[:8]}"
    seed_admin(name, "root password 123")
    _, _, admin = call_api("POST", f"{A}/login", json={"username": name, "password": "root password 123"})
    assert call(admin["access_token"]) == (200, {"pong": True})


def test_role_in_a_self_issued_token_needs_the_key(call_api):
    _, t = new_user(call_api)
    forged = jwt.encode({**claims_of(t["access_token"]), "role": "admin"}, "guessed-" + "k" * 40,
                        algorithm="HS256")
    status, _, _ = call_api("GET", "/api/v1/status/metrics", headers=bearer(forged))
    assert status == 401


def test_disabled_user_is_shut_out(call_api):
    from signalos.auth import users

    username, t = new_user(call_api)
    _, _, key = call_api("POST", f"{A}/api-keys", headers=bearer(t["access_token"]), json={"name": "k"})
    users.disable_user(t["user"]["id"], actor_id="usr_admin")
    status, _, body = call_api("POST", f"{A}/login", json={"username": username, "password": PASSWORD})
    assert status == 403 and body["error"]["code"] == "ACCOUNT_DISABLED"
    assert call_api("POST", f"{A}/refresh", json={"refresh_token": t["refresh_token"]})[0] == 401
    assert_401(call_api, {"X-API-Key": key["api_key"]}, "INVALID_API_KEY")
    # a wrong password on a disabled account says nothing about the account's state
    status, _, body = call_api("POST", f"{A}/login", json={"username": username, "password": "nope nope"})
    assert status == 401 and body["error"]["code"] == "INVALID_CREDENTIALS"


# --- request limits and error bodies ---------------------------------------------------------

def test_oversize_body_is_413(call_api):
    status, _, body = call_api("POST", f"{A}/register",
                               json={"username": "big_one", "password": "x" * (300 * 1024)})
    assert status == 413 and body["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_malformed_body_is_400(call_api):
    resp = call_api.raw("POST", f"{A}/login", body='{"username": "a", "password": ',
                        headers={"content-type": "application/json"})
    body = json.loads(resp.body)
    assert resp.status == 400 and body["error"]["code"] == "MALFORMED_JSON"


def test_422_names_the_fields(call_api):
    status, _, body = call_api("POST", f"{A}/login", json={"username": ""})
    assert status == 422
    fields = {f["field"] for f in body["error"]["details"]["fields"]}
    assert fields == {"body.username", "body.password"}
    assert set(body["error"]) == {"code", "message", "details", "timestamp", "request_id"}


def test_unknown_route_is_404_in_the_error_format(call_api):
    status, headers, body = call_api("GET", "/api/v1/does-not-exist")
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"
    assert body["error"]["request_id"] and headers["x-content-type-options"] == "nosniff"
    status, _, body = call_api("GET", f"{A}/no-such-thing")
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"


def test_security_headers_on_real_responses(call_api):
    _, headers, _ = call_api("POST", f"{A}/login", json={"username": "x_nobody", "password": "whatever1"})
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"
    assert "default-src 'none'" in headers["content-security-policy"]


def test_tokens_module_refuses_unsigned_tokens_even_with_a_guessable_key():
    claims = {"sub": "u", "iss": tokens.issuer(), "aud": tokens.audience(), "iat": 1, "exp": 2**31,
              "typ": "access", "jti": "j"}
    unsigned = f"{_b64({'alg': 'none'})}.{_b64(claims)}."
    with pytest.raises(tokens.TokenError):
        tokens.decode_token(unsigned, "", expected_type="access")
