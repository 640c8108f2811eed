"""Who may call is decided before what they sent is validated, on a route of every context.

Request validation answers 422 with the names of the bad fields, i.e. a piece of the schema: a
caller who may not use a route must get 401 (no or bad credentials) or 403 (no role, license
feature or API-key scope) whatever the body, and only a caller who may use it sees the 422.
The real handlers, through template routing, on the embedded AWS.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from signalos.common.dynamo import Table
from support.users import create_profile, user_headers

pytestmark = pytest.mark.usefixtures("aws_module")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    bad_body: dict
    refused_as: str  # which caller lacks the right: "no_features" | "read_key" | "user" | "disabled_account"
    code_403: str
    credential: str = "user"  # who may call: "user" | "admin" | "bridge"


CASES = [
    Case("auth profile", "PATCH", "/api/v1/auth/profile", {"email": 42, "shoe_size": 9},
         "read_key", "INSUFFICIENT_SCOPE"),
    Case("signals parse-sync", "POST", "/api/v1/signals/parse-sync", {"text": "", "source": "carrier pigeon"},
         "no_features", "FEATURE_NOT_LICENSED"),
    Case("trades open", "POST", "/api/v1/trades/open", {"symbol": "XAUUSD", "side": "sideways", "volume": -1},
         "no_features", "FEATURE_NOT_LICENSED"),
    Case("subscriptions create", "POST", "/api/v1/subscriptions",
         {"provider_id": "../etc", "enabled": "perhaps"}, "no_features", "FEATURE_NOT_LICENSED"),
    Case("bridge register", "POST", "/api/v1/bridge/register", {"name": 7, "kind": "imaginary"},
         "no_features", "FEATURE_NOT_LICENSED"),
    Case("bridge heartbeat", "POST", "/api/v1/bridge/heartbeat", {"balance": "plenty", "positions": 3},
         "disabled_account", "ACCOUNT_DISABLED", credential="bridge"),
    Case("analytics report pdf", "POST", "/api/v1/analytics/report/pdf",
         {"start": "yesterday", "colour": "red"}, "read_key", "INSUFFICIENT_SCOPE"),
    Case("admin settings", "PUT", "/api/v1/admin/settings", {"version": -1, "maintenance_mode": "maybe"},
         "user", "ADMIN_REQUIRED", credential="admin"),
    Case("telegram links", "POST", "/api/v1/telegram/links", {"provider_id": 5, "chat_id": "the group"},
         "no_features", "FEATURE_NOT_LICENSED"),
]
IDS = [c.name for c in CASES]

_CALLERS: dict[str, dict[str, str]] = {}  # built once for the module's embedded AWS


def _admin_headers(user_id: str) -> dict[str, str]:
    from signalos.common.secrets import jwt_signing_key
    from signalos.common.tokens import issue_access_token

    token = issue_access_token(jwt_signing_key(), user_id=user_id, username=user_id, role="admin",
                               license_tier="trial", features=(), license_expires_at=None,
                               session_id=None).token
    return {"Authorization": f"Bearer {token}"}


def _register_account(call_api, headers: dict[str, str], name: str) -> dict:
    status, _, body = call_api("POST", "/api/v1/bridge/register", headers=headers,
                               json={"name": name, "kind": "demo"})
    assert status == 201, body
    return body


@pytest.fixture
def callers(call_api) -> dict[str, dict[str, str]]:
    """Headers of: a licensed user, one without any feature, a read-only API key, an admin, a bridge
    token of an active account and one of a disabled account."""
    if _CALLERS:
        return _CALLERS
    uid = f"usr_order{uuid.uuid4().hex[:8]}"
    create_profile(uid)
    user = user_headers(uid)
    status, _, key = call_api("POST", "/api/v1/auth/api-keys", headers=user,
                              json={"name": "read only", "scopes": ["read"]})
    assert status == 201, key
    active = _register_account(call_api, user, "Active")
    other_uid = f"usr_order{uuid.uuid4().hex[:8]}"
    create_profile(other_uid)
    disabled = _register_account(call_api, user_headers(other_uid), "Disabled")
    # Disabled without its token being revoked (as an operator would): the token still resolves.
    Table.from_env("TRADING_TABLE").update(f"USER#{other_uid}", f"ACCOUNT#{disabled['account_id']}",
                                           set_values={"status": "disabled"})
    admin_uid = f"usr_admin{uuid.uuid4().hex[:8]}"
    create_profile(admin_uid, role="admin")
    _CALLERS.update({
        "user": user,
        "no_features": user_headers(uid, features=()),
        "read_key": {"X-API-Key": key["api_key"]},
        "admin": _admin_headers(admin_uid),
        "bridge": {"Authorization": f"Bearer {active['bridge_token']}"},
        "disabled_account": {"Authorization": f"Bearer {disabled['bridge_token']}"},
    })
    return _CALLERS


def _no_schema_in(error: dict) -> None:
    assert "fields" not in (error.get("details") or {}), error


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_credentials_and_a_malformed_body_is_401(call_api, case):
    status, _, body = call_api(case.method, case.path, json=case.bad_body)
    assert status == 401, body
    _no_schema_in(body["error"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_credentials_and_broken_json_is_401(call_api, case):
    resp = call_api.raw(case.method, case.path, body="{not json",
                        headers={"content-type": "application/json"})
    assert resp.status == 401, resp.body


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_invalid_credentials_and_a_malformed_body_is_401(call_api, case):
    bogus = {"Authorization": "Bearer sosb_" + "x" * 43} if case.credential == "bridge" else \
        {"Authorization": "Bearer not.a.jwt"}
    status, _, body = call_api(case.method, case.path, json=case.bad_body, headers=bogus)
    assert status == 401, body
    _no_schema_in(body["error"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_caller_without_the_feature_role_or_scope_and_a_malformed_body_is_403(call_api, callers, case):
    status, _, body = call_api(case.method, case.path, json=case.bad_body, headers=callers[case.refused_as])
    assert status == 403, body
    assert body["error"]["code"] == case.code_403
    _no_schema_in(body["error"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_valid_credentials_and_a_malformed_body_is_422_naming_the_fields(call_api, callers, case):
    status, _, body = call_api(case.method, case.path, json=case.bad_body, headers=callers[case.credential])
    assert status == 422, body
    assert body["error"]["code"] == "VALIDATION_ERROR"
    named = {f["field"].split(".")[1] for f in body["error"]["details"]["fields"]}
    assert named & set(case.bad_body), named


def test_bridge_token_rotation_checks_the_caller_before_the_body(call_api, callers):
    path = "/api/v1/bridge/token/rotate"
    assert call_api("POST", path, json={"account_id": 5})[0] == 401
    status, _, body = call_api("POST", path, json={"account_id": 5}, headers=callers["disabled_account"])
    assert status == 403 and body["error"]["code"] == "ACCOUNT_DISABLED"
    status, _, body = call_api("POST", path, json={"account_id": 5}, headers=callers["read_key"])
    assert status == 403 and body["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert call_api("POST", path, json={"account_id": 5}, headers=callers["user"])[0] == 422


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/auth/login", {"username": 5}),
    ("/api/v1/auth/register", {"password": ["x"]}),
    ("/api/v1/bridge/pair", {"code": 12345678}),
])
def test_public_routes_still_validate_for_anyone(call_api, path, body):
    status, _, out = call_api("POST", path, json=body)
    assert status == 422 and out["error"]["details"]["fields"], out


def test_public_routes_still_answer_without_credentials(call_api):
    assert call_api("GET", "/api/v1/status/health")[0] == 200
    assert call_api("GET", "/api/openapi.json")[0] == 200
