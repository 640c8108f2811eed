"""Where the bridge token lives: the OS keyring when there is one, else a file only the user can read.

The token (`sosb_...`) lets whoever holds it pull this account's orders, so it never goes into
the config file or the logs. On Windows `keyring` stores it in the Credential Manager.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

SERVICE = "signalos-bridge"
TOKEN_PREFIX = "sosb_"


class CredentialError(Exception):
    pass


def _usable_keyring():
    """The keyring module when it is installed and has a real backend (not the 'fail' one)."""
    try:
        import keyring
        from keyring.errors import KeyringError  # noqa: F401  (keyring is complete enough)
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken backend configuration must not stop the agent
        return None
    if getattr(backend, "priority", 0) <= 0 or "fail" in type(backend).__module__:
        return None
    return keyring


class TokenStore:
    """Save/load/delete the bridge token of one account."""

    def __init__(self, directory: Path, *, use_keyring: bool = True) -> None:
        self.directory = directory
        self._keyring = _usable_keyring() if use_keyring else None

    @property
    def where(self) -> str:
        return "the OS keyring" if self._keyring else str(self.directory)

    def _file(self, account_id: str) -> Path:
        safe = "".join(c for c in account_id if c.isalnum() or c in "_-") or "default"
        return self.directory / f"token-{safe}"

    def save(self, account_id: str, token: str) -> str:
        if not token.startswith(TOKEN_PREFIX):
            raise CredentialError("that is not a bridge token (they start with sosb_)")
        if self._keyring is not None:
            try:
                self._keyring.set_password(SERVICE, account_id, token)
                return "the OS keyring"
            except Exception as exc:
                log.warning(
                    "keyring refused the token (%s); using a private file instead", type(exc).__name__
                )
        path = self._file(account_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Create with 0600 from the start (no window where another user could read it).
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(path.with_suffix(".tmp"), path)
        if sys.platform != "win32":
            os.chmod(path, 0o600)
        return str(path)

    def load(self, account_id: str) -> str | None:
        if self._keyring is not None:
            try:
                token = self._keyring.get_password(SERVICE, account_id)
            except Exception:
                token = None
            if token:
                return token
        path = self._file(account_id)
        if not path.exists():
            return None
        if sys.platform != "win32" and path.stat().st_mode & 0o077:
            raise CredentialError(f"{path} is readable by other users: run `chmod 600 {path}`")
        return path.read_text(encoding="utf-8").strip() or None

    def delete(self, account_id: str) -> None:
        if self._keyring is not None:
            with contextlib.suppress(Exception):
                self._keyring.delete_password(SERVICE, account_id)
        self._file(account_id).unlink(missing_ok=True)
