"""Admin API routes (`/api/v1/admin/...`): administrators only, every change audited. Thin."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from signalos.admin import logs, queues, system
from signalos.admin import settings as global_settings
from signalos.admin.models import (
    LogListOut,
    QueueStatusOut,
    RedriveIn,
    RedriveOut,
    SettingsIn,
    SettingsOut,
    SystemStatusOut,
    UserCreateIn,
    UserListOut,
    UserUpdateIn,
)
from signalos.auth.models import UserOut
from signalos.common import audit
from signalos.common.errors import Conflict, NotFound
from signalos.common.guards import current_principal, require_admin
from signalos.common.params import Cursor, IdPath, Limit

router = Router()
P = "/api/v1/admin"
TAGS = ["admin"]


def _actor() -> str:
    return current_principal(router).user_id


def _license(value: object) -> object:
    return value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value


# --- users ---------------------------------------------------------------------------------------

@router.get(f"{P}/users", tags=TAGS, summary="Users, newest first (search by username prefix)")
@require_admin
def list_users(search: Annotated[str | None, Query(max_length=64)] = None, limit: Limit = None,
               cursor: Cursor = None) -> UserListOut:
    from signalos.auth import users

    return UserListOut(**users.list_users(cursor=cursor, limit=limit or 50, search=search))


@router.post(f"{P}/users", status_code=201, tags=TAGS, summary="Create a user (any role, any license)")
@require_admin
def create_user(body: UserCreateIn) -> UserOut:
    from signalos.auth import service, users

    license_ = users.normalize_license(_license(body.license)) if body.license is not None else None
    user = service.register(username=body.username, password=body.password, email=body.email,
                            full_name=body.full_name, role=body.role, license_=license_)
    audit.record("admin_user_created", user_id=user["user_id"], actor_id=_actor(),
                 details={"username": body.username, "role": body.role,
                          "tier": (user.get("license") or {}).get("tier")})
    return UserOut(**service.user_out(user))


@router.get(f"{P}/users/<user_id>", tags=TAGS, summary="One user")
@require_admin
def get_user(user_id: IdPath) -> UserOut:
    from signalos.auth import users

    user = users.get_user(user_id)
    if user is None:
        raise NotFound("User not found", code="USER_NOT_FOUND")
    return UserOut(**user)


@router.put(f"{P}/users/<user_id>", tags=TAGS, summary="Change a user's role, license or status")
@require_admin
def update_user(user_id: IdPath, body: UserUpdateIn) -> UserOut:
    from signalos.auth import users

    # users.update_user audits the change (user_updated, actor = this admin).
    return UserOut(**users.update_user(user_id, role=body.role, status=body.status,
                                       license=_license(body.license), actor_id=_actor()))


@router.delete(f"{P}/users/<user_id>", tags=TAGS, summary="Disable a user (sessions and API keys stop)")
@require_admin
def disable_user(user_id: IdPath) -> UserOut:
    from signalos.auth import users

    if user_id == _actor():
        raise Conflict("You cannot disable yourself", code="CANNOT_DISABLE_SELF")
    return UserOut(**users.disable_user(user_id, actor_id=_actor()))


# --- logs, queues, system --------------------------------------------------------------------

@router.get(f"{P}/logs", tags=TAGS, summary="Audit events and errors (one day, or one user)")
@require_admin
def list_logs(day: Annotated[date | None, Query(description="UTC day (default today)")] = None,
              user_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_\-]{1,64}$")] = None,
              event: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$")] = None,
              outcome: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
              errors_only: bool = False, limit: Limit = None, cursor: Cursor = None) -> LogListOut:
    return LogListOut(**logs.list_logs(day=day, user_id=user_id, event=event, outcome=outcome,
                                       errors_only=errors_only, limit=limit, cursor=cursor))


@router.get(f"{P}/queue/status", tags=TAGS, summary="Depth, in flight and dead letters of every queue")
@require_admin
def queue_status() -> QueueStatusOut:
    return QueueStatusOut(**queues.queue_status())


@router.post(f"{P}/queue/redrive", tags=TAGS, summary="Move a queue's dead letters back to it")
@require_admin
def redrive(body: RedriveIn) -> RedriveOut:
    result = queues.redrive(body.queue, max_messages=body.max_messages)
    audit.record("admin_queue_redrive", user_id=_actor(), actor_id=_actor(),
                 details={"queue": body.queue, "method": result["method"], "messages": result["messages"],
                          "moved": result["moved"]})
    return RedriveOut(**result)


@router.get(f"{P}/system/status", tags=TAGS, summary="Dependencies, version, queues, settings, counters")
@require_admin
def system_status() -> SystemStatusOut:
    return SystemStatusOut(**system.system_status())


# --- settings ------------------------------------------------------------------------------------

@router.get(f"{P}/settings", tags=TAGS, summary="Global caps and maintenance mode")
@require_admin
def get_settings() -> SettingsOut:
    return SettingsOut(**global_settings.read_settings().model_dump())


@router.put(f"{P}/settings", tags=TAGS, summary="Change caps or maintenance mode (send the version you read)")
@require_admin
def put_settings(body: SettingsIn) -> SettingsOut:
    changes = body.model_dump(include=body.model_fields_set - {"version"})
    try:
        saved = global_settings.write_settings(changes, expected_version=body.version, actor_id=_actor())
    except global_settings.StaleSettings as exc:
        raise Conflict("The settings changed since you read them; read them again",
                       code="SETTINGS_VERSION_CONFLICT") from exc
    audit.record("admin_settings_changed", user_id=_actor(), actor_id=_actor(),
                 details={"changed": sorted(changes), "version": saved.version, **changes})
    return SettingsOut(**saved.model_dump())
