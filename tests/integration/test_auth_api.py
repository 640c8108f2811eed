"""The auth API end to end through its Lambda handler, against DynamoDB and Secrets Manager (moto)."""

from __future__ import annotations

import json
import uuid

import pytest

pytestmark = pytest.mark.usefixtures("auth_aws")
A = "/api/v1/auth"


# TEMPORARY until tests/conftest.py (INFRA) provides `aws` + `call_api`: the two tables and the
# secret auth uses, shaped like template.yaml, and a payload-2.0 event builder.
@pytest.fixture(scope="module")
def auth_aws():
    import boto3
    from moto import mock_aws
    from signalos.common import dynamo, secrets

    env = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing",
           "USERS_TABLE": "users", "AUDIT_TABLE": "audit", "STAGE": "local", "DEFAULT_LICENSE_TIER": "trial"}
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    mp.delenv("JWT_SIGNING_KEY", raising=False)
    with mock_aws():
        dynamo.reset_clients()
        secrets.reset()
        ddb = boto3.client("dynamodb")
        attrs = ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"]
        for name in ("users", "audit"):
            ddb.create_table(
                TableName=name, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attrs],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                           {"AttributeName": "sk", "KeyType": "RANGE"}],
                GlobalSecondaryIndexes=[
                    {"IndexName": f"gsi{i}", "Projection": {"ProjectionType": "ALL"},
                     "KeySchema": [{"AttributeName": f"gsi{i}pk", "KeyType": "HASH"},
                                   {"AttributeName": f"gsi{i}sk", "KeyType": "RANGE"}]} for i in (1, 2)])
        arn = boto3.client("secretsmanager").create_secret(
            Name="jwt", SecretString=json.dumps({"signing_key": uuid.uuid4().hex * 2}))["ARN"]
        mp.setenv("JWT_SECRET_ARN", arn)
        yield
        dynamo.reset_clients()
        secrets.reset()
    mp.undo()


def _event(method, path, body=None, headers=None):
    hdrs = {"content-type": "application/json", "user-agent": "pytest"}
    hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
    return {
        "version": "2.0", "routeKey": "ANY /api/v1/auth/{proxy+}", "rawPath": path, "rawQueryString": "",
        "headers": hdrs,
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "203.0.113.9", "userAgent": "pytest"},
                           "requestId": f"req-{uuid.uuid4().hex[:8]}", "stage": "$default",
                           "routeKey": "ANY /api/v1/auth/{proxy+}", "timeEpoch": 0},
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }


@pytest.fixture
def call_api():
    from signalos.auth.handler import lambda_handler

    def call(method, path, json=None, headers=None):
        import json as _json

        resp = lambda_handler(_event(method, path, json, headers), None)
        return resp["statusCode"], resp["headers"], (_json.loads(resp["body"]) if resp.get("body") else None)

    return call


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
    assert headers["Cache-Control"] == "no-store"


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
    assert failed["pk"].startswith("AUDIT#") and failed["source_ip"] == "203.0.113.9"
    assert "wrong password" not in json.dumps(items)
