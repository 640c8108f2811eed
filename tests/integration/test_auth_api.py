"""The auth API end to end through its Lambda handler, against DynamoDB and Secrets Manager (moto)."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.usefixtures("aws_module")
A = "/api/v1/auth"


def new_username() -> str:
    return f"trader_{uuid.uuid4().hex[:10]}"


def register_and_login(call_api, password="correct horse battery", device_info=None):
    username = new_username()
    status, _, body = call_api("POST", f"{A}/register", json={"username": username, "password": password})
    assert status == 201, body
    payload = {"username": username, "password": password}
    if device_info is not None:
        payload["device_info"] = device_info
    status, _, tokens = call_api("POST", f"{A}/login", json=payload)
    assert status == 200, tokens
    return username, tokens


def bearer(tokens) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_register_login_profile_roundtrip(call_api):
    username, tokens = register_and_login(call_api)
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    assert tokens["user"]["username"] == username
    assert tokens["user"]["license_type"] == "trial"
    assert set(tokens["user"]["license"]["features"]) == {
        "signal_parsing", "auto_trading", "telegram_integration", "multi_account", "advanced_strategies"}
    status, headers, profile = call_api("GET", f"{A}/profile", headers=bearer(tokens))
    assert status == 200
    assert profile["user_id"] == tokens["user"]["id"]
    assert "password_hash" not in profile and "failed_logins" not in profile
    assert headers["cache-control"] == "no-store"


def test_register_refuses_duplicate_username_case_insensitively(call_api):
    username, _ = register_and_login(call_api)
    status, _, body = call_api("POST", f"{A}/register",
                               json={"username": username.upper(), "password": "another password 1"})
    assert status == 409 and body["error"]["code"] == "USERNAME_TAKEN"


def test_register_cannot_set_role_or_license(call_api):
    status, _, body = call_api("POST", f"{A}/register", json={
        "username": new_username(), "password": "long enough pw", "role": "admin",
        "license": {"tier": "enterprise"}})
    assert status == 422
    fields = {f["field"] for f in body["error"]["details"]["fields"]}
    assert {"body.role", "body.license"} <= fields


def test_register_password_policy_names_the_field(call_api):
    username = new_username()
    status, _, body = call_api("POST", f"{A}/register", json={"username": username, "password": username})
    assert status == 422
    assert body["error"]["details"]["fields"][0]["field"] == "body.password"


def test_login_wrong_password_and_unknown_user_look_the_same(call_api):
    username, _ = register_and_login(call_api)
    s1, _, b1 = call_api("POST", f"{A}/login", json={"username": username, "password": "wrong password"})
    s2, _, b2 = call_api("POST", f"{A}/login", json={"username": new_username(), "password": "whatever"})
    assert s1 == s2 == 401
    assert b1["error"]["code"] == b2["error"]["code"] == "INVALID_CREDENTIALS"
    assert b1["error"]["message"] == b2["error"]["message"]


def test_profile_patch_changes_safe_fields_only(call_api):
    _, tokens = register_and_login(call_api)
    status, _, profile = call_api("PATCH", f"{A}/profile", headers=bearer(tokens),
                                  json={"email": "t@example.com", "full_name": "Tess Trader"})
    assert status == 200 and profile["email"] == "t@example.com" and profile["full_name"] == "Tess Trader"
    status, _, body = call_api("PATCH", f"{A}/profile", headers=bearer(tokens), json={"role": "admin"})
    assert status == 422 and body["error"]["details"]["fields"][0]["field"] == "body.role"
    _, _, profile = call_api("GET", f"{A}/profile", headers=bearer(tokens))
    assert profile["role"] == "user"


def test_refresh_rotates_and_alias_works(call_api):
    _, tokens = register_and_login(call_api)
    status, _, second = call_api("POST", f"{A}/refresh-token",
                                 json={"refresh_token": tokens["refresh_token"]})
    assert status == 200 and second["refresh_token"] != tokens["refresh_token"]
    status, _, third = call_api("POST", f"{A}/refresh", json={"refresh_token": second["refresh_token"]})
    assert status == 200
    status, _, _ = call_api("GET", f"{A}/profile", headers=bearer(third))
    assert status == 200


def test_logout_revokes_the_session(call_api):
    _, tokens = register_and_login(call_api)
    status, _, body = call_api("POST", f"{A}/logout", headers=bearer(tokens))
    assert status == 200 and body == {"ok": True}
    status, _, body = call_api("POST", f"{A}/refresh-token", json={"refresh_token": tokens["refresh_token"]})
    assert status == 401 and body["error"]["code"] == "SESSION_REVOKED"


def test_logout_with_only_a_refresh_token(call_api):
    _, tokens = register_and_login(call_api)
    status, _, _ = call_api("POST", f"{A}/logout", json={"refresh_token": tokens["refresh_token"]})
    assert status == 200
    status, _, _ = call_api("POST", f"{A}/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert status == 401


def test_change_password_revokes_other_sessions_and_keeps_this_one(call_api):
    username, first = register_and_login(call_api)
    _, _, second = call_api("POST", f"{A}/login",
                            json={"username": username, "password": "correct horse battery"})
    status, _, body = call_api("POST", f"{A}/change-password", headers=bearer(second),
                               json={"current_password": "correct horse battery",
                                     "new_password": "new stapler 42"})
    assert status == 200 and body["sessions_revoked"] == 1
    assert call_api("POST", f"{A}/refresh", json={"refresh_token": first["refresh_token"]})[0] == 401
    assert call_api("POST", f"{A}/refresh", json={"refresh_token": second["refresh_token"]})[0] == 200
    assert call_api("POST", f"{A}/login",
                    json={"username": username, "password": "correct horse battery"})[0] == 401
    assert call_api("POST", f"{A}/login", json={"username": username, "password": "new stapler 42"})[0] == 200


def test_change_password_needs_the_current_one(call_api):
    _, tokens = register_and_login(call_api)
    status, _, body = call_api("POST", f"{A}/change-password", headers=bearer(tokens),
                               json={"current_password": "not it at all", "new_password": "new stapler 42"})
    assert status == 401 and body["error"]["code"] == "INVALID_CREDENTIALS"


def test_license_status_and_verify(call_api):
    _, tokens = register_and_login(call_api, device_info={"platform": "Windows", "processor": "Intel i7"})
    status, _, lic = call_api("GET", f"{A}/license-status", headers=bearer(tokens))
    assert status == 200 and lic["valid"] and lic["tier"] == "trial" and lic["days_remaining"] == 13
    assert lic["devices_used"] == 1 and lic["device_limit"] == 2 and lic["features"]["auto_trading"] is True
    status, _, ver = call_api("POST", f"{A}/verify-license", headers=bearer(tokens), json={
        "feature": "multi_account", "device_info": {"platform": "Windows", "processor": "Intel i7"}})
    assert status == 200 and ver["feature_enabled"] is True and ver["device_bound"] is True
    assert ver["device_id"] == tokens["device_id"]


def test_device_limit_and_unbinding(call_api):
    username, tokens = register_and_login(call_api, device_info={"device_id": "machine-1"})
    login = {"username": username, "password": "correct horse battery"}
    assert call_api("POST", f"{A}/login", json={**login, "device_info": {"device_id": "machine-1"}})[0] == 200
    assert call_api("POST", f"{A}/login", json={**login, "device_info": {"device_id": "machine-2"}})[0] == 200
    status, _, body = call_api("POST", f"{A}/login",
                               json={**login, "device_info": {"device_id": "machine-3"}})
    assert status == 403 and body["error"]["code"] == "DEVICE_LIMIT_REACHED"
    _, _, listed = call_api("GET", f"{A}/devices", headers=bearer(tokens))
    assert len(listed["items"]) == 2 and listed["device_limit"] == 2
    status, _, _ = call_api("DELETE", f"{A}/devices/{tokens['device_id']}", headers=bearer(tokens))
    assert status == 200
    assert call_api("POST", f"{A}/login", json={**login, "device_info": {"device_id": "machine-3"}})[0] == 200


def test_api_key_lifecycle(call_api):
    _, tokens = register_and_login(call_api)
    status, _, created = call_api("POST", f"{A}/api-keys", headers=bearer(tokens),
                                  json={"name": "bot", "scopes": ["read"], "expires_in_days": 30})
    assert status == 201 and created["api_key"].startswith("sos_") and created["scopes"] == ["read"]
    key = created["api_key"]
    status, _, profile = call_api("GET", f"{A}/profile", headers={"X-API-Key": key})
    assert status == 200 and profile["user_id"] == tokens["user"]["id"]
    status, _, listed = call_api("GET", f"{A}/api-keys", headers=bearer(tokens))
    assert status == 200 and [k["key_id"] for k in listed["items"]] == [created["key_id"]]
    assert key not in json.dumps(listed) and "key_hash" not in json.dumps(listed)
    # a read-only key cannot write
    status, _, body = call_api("PATCH", f"{A}/profile", headers={"X-API-Key": key}, json={"full_name": "x"})
    assert status == 403 and body["error"]["code"] == "INSUFFICIENT_SCOPE"
    status, _, _ = call_api("DELETE", f"{A}/api-keys/{created['key_id']}", headers=bearer(tokens))
    assert status == 200
    status, _, body = call_api("GET", f"{A}/profile", headers={"X-API-Key": key})
    assert status == 401 and body["error"]["code"] == "INVALID_API_KEY"


def test_admin_scope_needs_admin_role(call_api):
    _, tokens = register_and_login(call_api)
    status, _, body = call_api("POST", f"{A}/api-keys", headers=bearer(tokens),
                               json={"name": "x", "scopes": ["admin"]})
    assert status == 403 and body["error"]["code"] == "ADMIN_REQUIRED"


def test_audit_trail_records_logins(call_api):
    from signalos.common import audit

    username, tokens = register_and_login(call_api)
    call_api("POST", f"{A}/login", json={"username": username, "password": "wrong password!"})
    items, _ = audit.list_for_user(tokens["user"]["id"])
    events = [i["event"] for i in items]
    assert "login_succeeded" in events and "login_failed" in events and "user_registered" in events
    failed = next(i for i in items if i["event"] == "login_failed")
    assert failed["pk"].startswith("AUDIT#") and failed["source_ip"] == "203.0.113.10"
    assert "wrong password" not in json.dumps(items)
