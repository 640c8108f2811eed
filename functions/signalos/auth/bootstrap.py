"""First administrator: the local stack (and a fresh deployment's operator) seeds one.

    seed_admin(username, password) -> bool   True if created, False if that user already existed
                                             (then it is made sure to be an active admin; the
                                             password is left as it is).
"""

from __future__ import annotations

from signalos.auth import data, licenses, service
from signalos.common.errors import Conflict


def seed_admin(username: str, password: str) -> bool:
    existing = data.find_user_id(username)
    if existing is None:
        try:
            service.register(username=username, password=password, role="admin",
                             license_=licenses.license_for_tier("enterprise", days=3650))
            return True
        except Conflict:  # created concurrently by another process: fall through and promote it
            existing = data.find_user_id(username)
    if existing is not None:
        user = data.get_user(existing) or {}
        if user.get("role") != "admin" or user.get("status", "active") != "active":
            data.update_user_fields(existing, {"role": "admin", "status": "active"})
    return False
