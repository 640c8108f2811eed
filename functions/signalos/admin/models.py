"""Request and response models of the admin API (fields listed explicitly)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from signalos.auth import passwords
from signalos.auth.models import USERNAME_PATTERN, UserOut
from signalos.common.guards import FEATURES


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LicenseIn(_Request):
    tier: str = Field(min_length=1, max_length=32)
    expires_at: str | None = Field(default=None, max_length=40, description="ISO 8601 time or null")
    device_limit: int | None = Field(default=None, ge=0, le=1000)
    features: list[Literal[FEATURES]] | None = None  # type: ignore[valid-type]


class UserCreateIn(_Request):
    username: str = Field(pattern=USERNAME_PATTERN)
    password: str = Field(min_length=passwords.MIN_LENGTH, max_length=passwords.MAX_LENGTH)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    full_name: str | None = Field(default=None, max_length=120)
    role: Literal["user", "admin"] = "user"
    license: str | LicenseIn | None = Field(default=None, description="a tier name or a license object")


class UserUpdateIn(_Request):
    role: Literal["user", "admin"] | None = None
    status: Literal["active", "disabled"] | None = None
    license: str | LicenseIn | None = None


class UserListOut(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class AuditEventOut(BaseModel):
    audit_id: str | None
    at: str | None
    event: str | None
    outcome: str | None
    user_id: str | None
    actor_id: str | None
    details: dict[str, Any] | None
    request_id: str | None
    source_ip: str | None
    user_agent: str | None
    stage: str | None


class LogListOut(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None
    day: str | None = Field(description="the UTC day listed (null when listing one user's history)")


class QueueOut(BaseModel):
    kind: Literal["service", "orders", "dead_letter"]
    name: str = Field(description="what to pass to /queue/redrive: signal_jobs, fanout, orders:<account_id>")
    queue: str
    account_id: str | None
    messages: int = Field(description="visible, waiting to be received")
    in_flight: int = Field(description="received, not yet deleted")
    delayed: int
    dlq: str | None
    dlq_messages: int | None


class QueueStatusOut(BaseModel):
    queues: list[QueueOut]
    totals: dict[str, int]


class RedriveIn(_Request):
    queue: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_:\-]+$")
    max_messages: int = Field(default=100, ge=1, le=1000, description="manual moves only")


class RedriveOut(BaseModel):
    queue: str
    method: Literal["move_task", "manual"]
    task_handle: str | None
    messages: int = Field(description="dead letters waiting when the redrive started")
    moved: int | None = Field(description="manual moves: how many were moved")


class SettingsOut(BaseModel):
    max_lots_per_order: float | None
    max_orders_per_minute_per_account: int | None
    maintenance_mode: bool
    maintenance_message: str | None
    version: int
    updated_at: str | None
    updated_by: str | None


class SettingsIn(_Request):
    version: int = Field(ge=0, description="the version you read (a stale one is 409)")
    max_lots_per_order: float | None = Field(default=None, gt=0, le=1000)
    max_orders_per_minute_per_account: int | None = Field(default=None, ge=1, le=10_000)
    maintenance_mode: bool | None = None
    maintenance_message: str | None = Field(default=None, max_length=300)


class SystemStatusOut(BaseModel):
    status: str
    timestamp: str
    version: dict[str, Any]
    components: dict[str, str]
    checks: dict[str, dict[str, Any]]
    queues: dict[str, Any]
    settings: SettingsOut
    metrics: dict[str, Any]
