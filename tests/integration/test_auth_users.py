"""signalos.auth.users (the admin API's repository) and bootstrap, on the embedded AWS."""

from __future__ import annotations

import json
import uuid

import pytest
from signalos.auth import service, users
from signalos.auth.bootstrap import seed_admin
from signalos.common import audit
from signalos.common.errors import BadRequest, NotFound, ValidationFailed

pytestmark = pytest.mark.usefixtures("aws")


def make_user(prefix="u") -> dict:
    return service.register(username=f"{prefix}_{uuid.uuid4().hex[:8]}", password="long enough pw")


def test_list_users_pages_newest_first_without_secrets():
    made = [make_user("lst") for _ in range(5)]
    page1 = users.list_users(limit=2)
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = users.list_users(cursor=page1["next_cursor"], limit=2)
    page3 = users.list_users(cursor=page2["next_cursor"], limit=2)
    ids = [u["user_id"] for p in (page1, page2, page3) for u in p["items"]]
    assert ids == [u["user_id"] for u in reversed(made)]
    assert page3["next_cursor"] is None or users.list_users(cursor=page3["next_cursor"])["items"] == []
    dumped = json.dumps(page1)
    assert "password_hash" not in dumped and "argon2" not in dumped


def test_list_users_search_and_limit_cap():
    target = make_user("needle")
    make_user("hay")
    found = users.list_users(search=target["username"][:10].upper())
    assert [u["user_id"] for u in found["items"]] == [target["user_id"]]
    assert len(users.list_users(limit=10_000)["items"]) <= 100


def test_list_users_refuses_a_foreign_cursor():
    from signalos.common.pagination import encode_cursor

    with pytest.raises(BadRequest):
        users.list_users(cursor=encode_cursor({"pk": "USER#x", "sk": "PROFILE", "gsi1pk": "NOT-USERS"}))


def test_get_user():
    u = make_user()
    assert users.get_user(u["user_id"])["username"] == u["username"]
    assert users.get_user("usr_missing") is None


def test_update_role_license_status_and_audit():
    u = make_user()
    out = users.update_user(u["user_id"], role="admin", license="pro", actor_id="usr_root")
    assert out["role"] == "admin" and out["license"]["tier"] == "pro"
    assert "auto_trading" in out["license"]["features"] and "multi_account" not in out["license"]["features"]
    out = users.update_user(u["user_id"], license={"tier": "basic", "device_limit": 5, "expires_at": None,
                                                   "features": ["signal_parsing", "multi_account"]})
    assert out["license"] == {"tier": "basic", "device_limit": 5, "expires_at": None,
                              "features": ["multi_account", "signal_parsing"]}
    items, _ = audit.list_for_user(u["user_id"])
    updates = [i for i in items if i["event"] == "user_updated"]
    assert len(updates) == 2 and any(i["actor_id"] == "usr_root" for i in updates)


@pytest.mark.parametrize("kwargs", [
    {"role": "root"}, {"status": "banned"}, {"license": "platinum"},
    {"license": {"tier": "pro", "features": ["x"]}},
    {"license": {"tier": "pro", "device_limit": -1}}, {"license": {"tier": "pro", "expires_at": "soon"}},
])
def test_update_refuses_bad_values(kwargs):
    u = make_user()
    with pytest.raises(ValidationFailed):
        users.update_user(u["user_id"], **kwargs)


def test_update_missing_user_is_not_found():
    with pytest.raises(NotFound):
        users.update_user("usr_nobody", role="admin")


def test_disable_user_revokes_sessions():
    u = make_user()
    tokens = service.login(username=u["username"], password="long enough pw")
    users.disable_user(u["user_id"], actor_id="usr_root")
    assert users.get_user(u["user_id"])["status"] == "disabled"
    from signalos.auth import data

    assert {s["status"] for s in data.list_sessions(u["user_id"])} == {"revoked"}
    from signalos.common.errors import Unauthorized

    with pytest.raises(Unauthorized):
        service.refresh(tokens["refresh_token"])


def test_seed_admin_is_idempotent_and_repairs_role():
    name = f"boot_{uuid.uuid4().hex[:6]}"
    assert seed_admin(name, "bootstrap password") is True
    assert seed_admin(name, "another password!") is False
    uid = service.data.find_user_id(name)
    users.update_user(uid, role="user", status="disabled")
    assert seed_admin(name, "bootstrap password") is False
    user = users.get_user(uid)
    assert user["role"] == "admin" and user["status"] == "active" and user["license"]["tier"] == "enterprise"
    # the password was never replaced by a later seed
    assert service.login(username=name, password="bootstrap password")["user"]["role"] == "admin"
