"""The admin API through its Lambda handler on the embedded AWS: admins only, every change audited."""

from __future__ import annotations

import uuid

import pytest
from signalos.admin.settings import clear_cache, get_global_settings

pytestmark = pytest.mark.usefixtures("aws_module")
ADMIN = "/api/v1/admin"
PW = "correct horse battery"
_PEOPLE: dict[str, tuple[str, dict]] = {}


def login(call_api, username: str, password: str = PW) -> tuple[int, dict]:
    body = {"username": username, "password": password}
    status, _, out = call_api("POST", "/api/v1/auth/login", json=body)
    return status, out


@pytest.fixture
def admin(call_api):
    if "admin" not in _PEOPLE:
        from signalos.auth.bootstrap import seed_admin

        name = f"root_{uuid.uuid4().hex[:6]}"
        assert seed_admin(name, PW) is True
        status, tokens = login(call_api, name)
        assert status == 200, tokens
        _PEOPLE["admin"] = (tokens["user"]["id"], {"Authorization": f"Bearer {tokens['access_token']}"})
    return _PEOPLE["admin"]


@pytest.fixture
def user(call_api):
    if "user" not in _PEOPLE:
        name = f"plain_{uuid.uuid4().hex[:6]}"
        assert call_api("POST", "/api/v1/auth/register", json={"username": name, "password": PW})[0] == 201
        _, tokens = login(call_api, name)
        _PEOPLE["user"] = (tokens["user"]["id"], {"Authorization": f"Bearer {tokens['access_token']}"})
    return _PEOPLE["user"]


# Valid bodies, so the role check is what answers (guards run before validation anyway:
# tests/security/test_guard_order.py).
ROUTES = [("GET", "/users", None), ("POST", "/users", {"username": "someone_new", "password": PW}),
          ("GET", "/users/usr_x", None), ("PUT", "/users/usr_x", {"role": "admin"}),
          ("DELETE", "/users/usr_x", None), ("GET", "/logs", None), ("GET", "/queue/status", None),
          ("POST", "/queue/redrive", {"queue": "fanout"}), ("GET", "/system/status", None),
          ("GET", "/settings", None), ("PUT", "/settings", {"version": 0, "maintenance_mode": True})]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_admin_routes_refuse_everyone_else(call_api, user, method, path, body):
    assert call_api(method, f"{ADMIN}{path}", json=body)[0] == 401
    status, _, out = call_api(method, f"{ADMIN}{path}", json=body, headers=user[1])
    assert status == 403 and out["error"]["code"] == "ADMIN_REQUIRED"


def test_user_lifecycle_is_audited(call_api, admin):
    name = f"made_{uuid.uuid4().hex[:6]}"
    status, _, made = call_api("POST", f"{ADMIN}/users", headers=admin[1],
                               json={"username": name, "password": PW, "license": "pro", "email": "m@x.io"})
    assert status == 201, made
    assert made["license"]["tier"] == "pro" and made["role"] == "user" and "password_hash" not in made
    uid = made["user_id"]
    status, _, page = call_api("GET", f"{ADMIN}/users", headers=admin[1], query={"search": name[:8]})
    assert status == 200 and [u["user_id"] for u in page["items"]] == [uid]
    status, _, changed = call_api("PUT", f"{ADMIN}/users/{uid}", headers=admin[1],
                                  json={"role": "admin",
                                        "license": {"tier": "enterprise", "device_limit": 3}})
    assert status == 200 and changed["role"] == "admin" and changed["license"]["device_limit"] == 3
    assert login(call_api, name)[0] == 200
    status, _, gone = call_api("DELETE", f"{ADMIN}/users/{uid}", headers=admin[1])
    assert status == 200 and gone["status"] == "disabled"
    assert login(call_api, name)[0] in (401, 403)
    status, _, logs = call_api("GET", f"{ADMIN}/logs", headers=admin[1], query={"user_id": uid})
    events = [e["event"] for e in logs["items"]]
    assert "admin_user_created" in events and events.count("user_updated") == 2
    assert {e["actor_id"] for e in logs["items"] if e["event"] == "user_updated"} == {admin[0]}


def test_user_errors(call_api, admin):
    assert call_api("GET", f"{ADMIN}/users/usr_nobody", headers=admin[1])[0] == 404
    status, _, body = call_api("PUT", f"{ADMIN}/users/usr_nobody", headers=admin[1], json={"role": "admin"})
    assert status == 404
    status, _, body = call_api("PUT", f"{ADMIN}/users/{admin[0]}", headers=admin[1], json={"role": "god"})
    assert status == 422 and body["error"]["details"]["fields"][0]["field"] == "body.role"
    status, _, body = call_api("DELETE", f"{ADMIN}/users/{admin[0]}", headers=admin[1])
    assert status == 409 and body["error"]["code"] == "CANNOT_DISABLE_SELF"
    status, _, body = call_api("POST", f"{ADMIN}/users", headers=admin[1],
                               json={"username": "x" * 3, "password": PW, "owner": "me"})
    assert status == 422


def test_logs_filter_errors(call_api, admin, user):
    status, _ = login(call_api, f"ghost_{uuid.uuid4().hex[:6]}", "wrong password!")
    assert status == 401
    status, _, logs = call_api("GET", f"{ADMIN}/logs", headers=admin[1], query={"errors_only": "true"})
    assert status == 200 and logs["items"] and all(e["outcome"] != "success" for e in logs["items"])
    assert "login_failed" in {e["event"] for e in logs["items"]}
    status, _, logs = call_api("GET", f"{ADMIN}/logs", headers=admin[1],
                               query={"event": "user_registered", "limit": "1"})
    assert status == 200 and len(logs["items"]) <= 1 and logs["day"]
    assert all(e["event"] == "user_registered" for e in logs["items"])
    bad = call_api("GET", f"{ADMIN}/logs", headers=admin[1], query={"cursor": "not-a-cursor"})
    assert bad[0] == 400


def test_settings_are_versioned_and_readable_by_trading(call_api, admin):
    status, _, current = call_api("GET", f"{ADMIN}/settings", headers=admin[1])
    assert status == 200
    version = current["version"]
    status, _, saved = call_api("PUT", f"{ADMIN}/settings", headers=admin[1],
                                json={"version": version, "max_lots_per_order": 2.5, "maintenance_mode": True,
                                      "maintenance_message": "broker migration"})
    assert status == 200, saved
    assert saved["version"] == version + 1 and saved["updated_by"] == admin[0]
    clear_cache()
    settings = get_global_settings()
    assert settings.maintenance_mode and settings.max_lots_per_order == 2.5
    status, _, body = call_api("PUT", f"{ADMIN}/settings", headers=admin[1],
                               json={"version": version, "maintenance_mode": False})
    assert status == 409 and body["error"]["code"] == "SETTINGS_VERSION_CONFLICT"
    status, _, cleared = call_api("PUT", f"{ADMIN}/settings", headers=admin[1],
                                  json={"version": version + 1, "max_lots_per_order": None,
                                        "maintenance_mode": False})
    assert status == 200 and cleared["max_lots_per_order"] is None and cleared["maintenance_mode"] is False
    assert cleared["max_orders_per_minute_per_account"] is None
    assert call_api("PUT", f"{ADMIN}/settings", headers=admin[1], json={"version": 0,
                                                                        "max_lots_per_order": -1})[0] == 422
    status, _, logs = call_api("GET", f"{ADMIN}/logs", headers=admin[1],
                               query={"event": "admin_settings_changed"})
    assert len(logs["items"]) >= 2


def test_queue_status_lists_every_queue_and_redrive_moves_dead_letters(aws_module, call_api, admin, user):
    status, _, account = call_api("POST", "/api/v1/bridge/register", headers=user[1],
                                  json={"name": "vps", "kind": "paper"})
    assert status == 201, account
    account_id = account["account_id"]
    sqs = aws_module.client("sqs")
    prefix = aws_module.env["ORDER_QUEUE_PREFIX"]
    dlq_url = sqs.get_queue_url(QueueName=f"{prefix}{account_id}-dlq.fifo")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq_url, MessageBody='{"type": "open"}', MessageGroupId=account_id,
                     MessageDeduplicationId="cmd_1")
    sqs.send_message(QueueUrl=aws_module.ref("FanoutQueue"), MessageBody="{}")

    status, _, body = call_api("GET", f"{ADMIN}/queue/status", headers=admin[1])
    assert status == 200, body
    by_name = {q["name"]: q for q in body["queues"]}
    assert {"signal_jobs", "fanout", f"orders:{account_id}"} <= set(by_name)
    orders = by_name[f"orders:{account_id}"]
    assert (orders["account_id"], orders["messages"], orders["dlq_messages"]) == (account_id, 0, 1)
    assert by_name["fanout"]["messages"] >= 1 and by_name["signal_jobs"]["dlq_messages"] == 0
    assert body["totals"]["dlq_messages"] >= 1

    status, _, moved = call_api("POST", f"{ADMIN}/queue/redrive", headers=admin[1],
                                json={"queue": f"orders:{account_id}"})
    assert status == 200, moved
    assert moved["method"] == "manual" and moved["moved"] == 1 and moved["messages"] == 1
    received = sqs.receive_message(QueueUrl=account["queue_url"], MessageSystemAttributeNames=["All"])
    [message] = received["Messages"]
    assert message["Body"] == '{"type": "open"}' and message["Attributes"]["MessageGroupId"] == account_id
    assert aws_module.queue_depth(dlq_url) == 0
    status, _, body = call_api("POST", f"{ADMIN}/queue/redrive", headers=admin[1],
                               json={"queue": "orders:nope"})
    assert status == 404 and body["error"]["code"] == "QUEUE_NOT_FOUND"
    status, _, logs = call_api("GET", f"{ADMIN}/logs", headers=admin[1],
                               query={"event": "admin_queue_redrive"})
    assert logs["items"][0]["details"]["moved"] == 1


def test_system_status(call_api, admin):
    status, _, body = call_api("GET", f"{ADMIN}/system/status", headers=admin[1])
    assert status == 200, body
    assert body["status"] == "healthy" and body["components"]["users_table"] == "healthy"
    assert body["settings"]["version"] >= 0 and "messages" in body["queues"]
    assert "auth" in body["metrics"]
