"""Request and response models of the auth API. Requests forbid unknown fields, so nobody can
slip in `role`, `license` or `user_id`; responses list their fields (no hashes, no secrets)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from signalos.auth import passwords
from signalos.common.apikeys import SCOPES

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@+\-]{2,63}$"
Tier = Literal["trial", "basic", "pro", "enterprise"]
Role = Literal["user", "admin"]
UserStatus = Literal["active", "disabled"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _check_device_info(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if len(value) > 20:
        raise ValueError("at most 20 fields")
    for key, item in value.items():
        if not isinstance(item, str | int | float | bool) or len(str(key)) > 64 or len(str(item)) > 256:
            raise ValueError("fields must be short strings, numbers or booleans")
    return value


class RegisterIn(_Request):
    username: str = Field(pattern=USERNAME_PATTERN, description="3-64 chars: letters, digits, _ . @ + -")
    password: str = Field(min_length=passwords.MIN_LENGTH, max_length=passwords.MAX_LENGTH)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    full_name: str | None = Field(default=None, max_length=120)


class LoginIn(_Request):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)
    device_info: dict[str, Any] | None = Field(default=None, description="platform, processor, memory, ...")

    _device = field_validator("device_info")(_check_device_info)


class RefreshIn(_Request):
    refresh_token: str = Field(min_length=10, max_length=4096)


class LogoutIn(_Request):
    refresh_token: str | None = Field(default=None, max_length=4096)


class ChangePasswordIn(_Request):
    current_password: str = Field(min_length=1, max_length=passwords.MAX_LENGTH)
    new_password: str = Field(min_length=passwords.MIN_LENGTH, max_length=passwords.MAX_LENGTH)


class ProfilePatchIn(_Request):
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    full_name: str | None = Field(default=None, max_length=120)
    timezone: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+\-]+)*$")


class VerifyLicenseIn(_Request):
    feature: str | None = Field(default=None, max_length=64)
    device_info: dict[str, Any] | None = None

    _device = field_validator("device_info")(_check_device_info)


class ApiKeyCreateIn(_Request):
    name: str = Field(min_length=1, max_length=64)
    scopes: list[Literal["read", "write", "admin"]] = Field(default_factory=lambda: ["read", "write"],
                                                           min_length=1, max_length=len(SCOPES))
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


# --- responses -------------------------------------------------------------------------------

class LicenseOut(BaseModel):
    tier: str
    expires_at: str | None
    device_limit: int
    features: list[str]


class UserOut(BaseModel):
    id: str
    user_id: str
    username: str
    email: str | None = None
    full_name: str | None = None
    timezone: str | None = None
    role: str
    status: str
    license_type: str
    license: LicenseOut
    created_at: str
    last_login_at: str | None = None


class RegisterOut(BaseModel):
    user: UserOut


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: UserOut
    device_id: str | None = None


class OkOut(BaseModel):
    ok: bool = True


class ChangePasswordOut(BaseModel):
    ok: bool = True
    sessions_revoked: int


class LicenseStatusOut(BaseModel):
    valid: bool
    status: Literal["active", "expired"]
    tier: str | None
    license_type: str | None
    expires_at: str | None
    days_remaining: int | None
    device_limit: int
    devices_used: int
    features: dict[str, bool]


class VerifyLicenseOut(LicenseStatusOut):
    feature: str | None = None
    feature_enabled: bool | None = None
    device_id: str | None = None
    device_bound: bool | None = None


class ApiKeyOut(BaseModel):
    key_id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    expires_at: str | None = None
    last_used_at: str | None = None


class ApiKeyCreatedOut(ApiKeyOut):
    api_key: str = Field(description="the key itself: shown only in this response")


class ApiKeyListOut(BaseModel):
    items: list[ApiKeyOut]
    next_cursor: str | None = None


class ApiKeyRevokedOut(BaseModel):
    key_id: str
    revoked: bool = True


class DeviceOut(BaseModel):
    device_id: str
    label: str
    info: dict[str, str]
    first_seen_at: str
    last_seen_at: str | None = None


class DeviceListOut(BaseModel):
    items: list[DeviceOut]
    next_cursor: str | None = None
    device_limit: int


class DeviceRemovedOut(BaseModel):
    device_id: str
    removed: bool = True
