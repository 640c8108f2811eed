"""Device binding: a stable fingerprint from a login's `device_info`. Pure.

`device_info` is what the client tells us about its machine, e.g.
    {"platform": "Windows", "processor": "Intel i7", "memory": "16GB", "hostname": "vps-1"}
A client may send its own stable `device_id` (a machine GUID); then that alone identifies the
device. Otherwise the fingerprint hashes the stable descriptive fields, so the same machine
logging in twice binds one device, not two.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

IDENTITY_KEYS = ("device_id", "machine_id", "hardware_id")
DESCRIPTIVE_KEYS = ("platform", "os", "os_version", "processor", "cpu", "memory", "hostname", "machine",
                    "architecture", "arch", "model")
MAX_KEYS = 20
MAX_VALUE_CHARS = 256


def clean(device_info: Mapping[str, Any]) -> dict[str, str]:
    """Keep scalar fields only, as bounded strings (device_info is untrusted client input)."""
    out: dict[str, str] = {}
    for key, value in list(device_info.items())[:MAX_KEYS]:
        if isinstance(value, str | int | float | bool):
            out[str(key)[:64]] = str(value)[:MAX_VALUE_CHARS]
    return out


def fingerprint(device_info: Mapping[str, Any]) -> str:
    """`dev_<32 hex>`: equal for equal machines, unrelated for different ones."""
    info = {k.lower(): v.strip().lower() for k, v in clean(device_info).items()}
    identity = next((info[k] for k in IDENTITY_KEYS if info.get(k)), None)
    if identity:
        basis: dict[str, str] = {"id": identity}
    else:
        basis = {k: info[k] for k in DESCRIPTIVE_KEYS if info.get(k)} or info
    digest = hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()
    return f"dev_{digest[:32]}"


def label(device_info: Mapping[str, Any]) -> str:
    """A short human name for lists: `Windows / Intel i7`."""
    info = clean(device_info)
    parts = [info[k] for k in ("name", "hostname", "platform", "processor") if info.get(k)]
    return " / ".join(parts[:2]) or "unknown device"
