"""Request and response bodies of the bridge API (fields listed explicitly: no hashes leave)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from signalos.bridge_api.accounts import AccountKind, AccountStatus


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=64)
    kind: AccountKind
    broker_server: str | None = Field(default=None, max_length=128)
    login: int | None = Field(default=None, ge=0)
    symbol_map: dict[str, str] | None = Field(
        default=None, max_length=500, description="canonical symbol -> broker symbol"
    )
    symbol_suffix: str | None = Field(default=None, max_length=16)

    @field_validator("symbol_map")
    @classmethod
    def _symbols(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        cleaned: dict[str, str] = {}
        for canonical, broker in value.items():
            canonical, broker = canonical.strip().upper(), broker.strip()
            if not (0 < len(canonical) <= 32 and 0 < len(broker) <= 32):
                raise ValueError("symbol_map keys and values must be 1-32 characters")
            cleaned[canonical] = broker
        return cleaned


class AccountOut(BaseModel):
    account_id: str
    name: str
    kind: AccountKind
    broker_server: str | None
    login: int | None
    symbol_map: dict[str, str]
    symbol_suffix: str | None
    status: AccountStatus
    queue_url: str
    created_at: str
    updated_at: str | None
    has_bridge_token: bool
    token_created_at: str | None
    last_heartbeat_at: str | None


class RegisterOut(BaseModel):
    account_id: str
    bridge_token: str = Field(description="shown once; store it in the bridge agent")
    queue_url: str
    account: AccountOut


class AccountListOut(BaseModel):
    items: list[AccountOut]
    next_cursor: str | None


class AccountDeletedOut(BaseModel):
    account_id: str
    status: AccountStatus
    queue_deleted: bool


class PairingCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=1, max_length=64)


class PairingCodeOut(BaseModel):
    account_id: str
    code: str = Field(description="XXXX-XXXX, single use")
    expires_at: str


class PairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)


class PairOut(BaseModel):
    account_id: str
    bridge_token: str
    queue_url: str


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str | None = Field(default=None, max_length=64, description="with a JWT: which account")


class TokenOut(BaseModel):
    account_id: str
    bridge_token: str
    token_created_at: str


class TokenRevokedOut(BaseModel):
    account_id: str
    revoked: bool


class SessionCredentials(BaseModel):
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: str


class SessionOut(BaseModel):
    account_id: str
    queue_url: str
    region: str
    endpoint_url: str | None = Field(description="the local embedded AWS; null on AWS")
    credentials: SessionCredentials


class HeartbeatOut(BaseModel):
    ok: bool
    server_time: str


class ReportsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Each report is validated on its own, so one malformed report is rejected without
    # refusing the others of the batch.
    reports: list[dict[str, Any]] = Field(max_length=100)


class ReportResult(BaseModel):
    report_id: str | None
    status: Literal["applied", "duplicate", "rejected"]
    error: str | None = None


class ReportsOut(BaseModel):
    results: list[ReportResult]
