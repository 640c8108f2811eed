"""Global trading settings an administrator sets: caps every account obeys, and maintenance mode.

    from signalos.admin.settings import get_global_settings
    s = get_global_settings()
    if s.maintenance_mode: ...refuse new orders with s.maintenance_message...
    if s.max_lots_per_order is not None and volume > s.max_lots_per_order: ...cap or refuse...
    if s.max_orders_per_minute_per_account is not None: ...rate-limit per account...

Stored as one item in USERS_TABLE (`pk = SETTINGS#GLOBAL`, `sk = SETTINGS`) with a version
number (a PUT must name the version it read: two admins cannot overwrite each other blindly).
Readers get a copy cached for CACHE_SECONDS per process, so fan-out pays one read per Lambda
container every few seconds, and a change reaches every container within that time.
No item yet -> the defaults (no caps, not in maintenance). A read error propagates: the caller
retries rather than trading without knowing whether maintenance is on.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from signalos.common.clock import iso
from signalos.common.dynamo import ConditionFailed, Table

SETTINGS_PK = "SETTINGS#GLOBAL"
SETTINGS_SK = "SETTINGS"
CACHE_SECONDS = 10.0


class GlobalSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    max_lots_per_order: float | None = Field(default=None, gt=0, le=1000,
                                             description="no order leg may be larger (lots); null: no cap")
    max_orders_per_minute_per_account: int | None = Field(default=None, ge=1, le=10_000,
                                                          description="null: no cap")
    maintenance_mode: bool = Field(default=False, description="true: no new orders are sent")
    maintenance_message: str | None = Field(default=None, max_length=300)
    version: int = 0
    updated_at: str | None = None
    updated_by: str | None = None


class StaleSettings(Exception):
    """The settings changed since the caller read them (their version is old)."""


_cache: tuple[float, GlobalSettings] | None = None


def _table() -> Table:
    return Table.from_env("USERS_TABLE")


def clear_cache() -> None:
    global _cache
    _cache = None


def read_settings() -> GlobalSettings:
    """The stored settings, read now (no cache)."""
    item = _table().get(SETTINGS_PK, SETTINGS_SK)
    return GlobalSettings.model_validate(item) if item else GlobalSettings()


def get_global_settings(*, max_age: float = CACHE_SECONDS) -> GlobalSettings:
    """The settings, at most `max_age` seconds old (see the module docs)."""
    global _cache
    now = time.monotonic()
    if _cache is not None and now - _cache[0] < max_age:
        return _cache[1]
    settings = read_settings()
    _cache = (now, settings)
    return settings


def write_settings(changes: dict[str, Any], *, expected_version: int, actor_id: str) -> GlobalSettings:
    """Apply `changes` over the current settings if they are still at `expected_version`."""
    current = read_settings()
    if current.version != expected_version:
        raise StaleSettings(f"settings are at version {current.version}")
    merged = GlobalSettings.model_validate({**current.model_dump(), **changes,
                                            "version": expected_version + 1, "updated_at": iso(),
                                            "updated_by": actor_id})
    item = {"pk": SETTINGS_PK, "sk": SETTINGS_SK, **merged.model_dump()}
    condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :v"
    values = None if expected_version == 0 else {":v": expected_version}
    try:
        _table().put(item, condition=condition, values=values)
    except ConditionFailed as exc:
        raise StaleSettings("settings changed while saving") from exc
    clear_cache()
    return merged
