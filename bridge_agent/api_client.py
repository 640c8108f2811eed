"""HTTPS client of the SignalOS bridge API (register, pair, session, heartbeat, reports).

Idempotent calls (session, heartbeat, reports: the API dedups reports by report_id) are retried
with exponential backoff on network errors, 429 and 5xx. `register` and `pair` are not retried
(a pairing code is single use): their errors go straight to the user. A 401 raises ApiAuthError,
whose message tells the user what to do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from signalos.contracts.execution import ExecutionReport, Heartbeat

from bridge_agent import __version__

log = logging.getLogger(__name__)

MAX_REPORTS_PER_POST = 100


class ApiError(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ApiAuthError(ApiError):
    """The token (or login) was refused: retrying will not help."""


class ApiUnavailable(ApiError):
    """Network error or server error after the retries: try again later."""


@dataclass(frozen=True)
class QueueCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime


@dataclass(frozen=True)
class BridgeSession:
    account_id: str
    queue_url: str
    region: str
    endpoint_url: str | None
    credentials: QueueCredentials


@dataclass(frozen=True)
class ReportResult:
    report_id: str
    status: str  # applied | duplicate | rejected
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status in ("applied", "duplicate")


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class BridgeApiClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: tuple[float, float] = (5.0, 20.0),
        retries: int = 3,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        http: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._http = http or requests.Session()
        self._http.headers["User-Agent"] = f"signalos-bridge/{__version__}"

    # ---- transport ---------------------------------------------------------------------------
    def _request(
        self, method: str, path: str, *, json: Any = None, auth: str | None = None, retry: bool = True
    ) -> dict:
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {auth}"} if auth else {}
        attempts = (self.retries + 1) if retry else 1
        last: Exception | None = None
        for attempt in range(attempts):
            if attempt:
                self._sleep(min(self.backoff_seconds * 2 ** (attempt - 1), 30.0))
            try:
                resp = self._http.request(method, url, json=json, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                last = ApiUnavailable(f"{method} {path}: cannot reach the API ({type(exc).__name__})")
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                last = self._error(resp, path, ApiUnavailable)
                retry_after = resp.headers.get("Retry-After", "")
                if retry_after.isdigit() and attempt + 1 < attempts:
                    self._sleep(min(int(retry_after), 30))
                continue
            if resp.status_code == 401:
                raise self._error(resp, path, ApiAuthError)
            if resp.status_code >= 400:
                raise self._error(resp, path, ApiError)
            try:
                body = resp.json()
            except ValueError:
                raise ApiError(f"{method} {path}: the API answered with something that is not JSON") from None
            if not isinstance(body, dict):
                raise ApiError(f"{method} {path}: unexpected response shape")
            return body
        assert last is not None
        raise last

    @staticmethod
    def _error(resp: requests.Response, path: str, kind: type[ApiError]) -> ApiError:
        code, message = None, resp.reason or "error"
        try:
            err = resp.json().get("error") or {}
            code, message = err.get("code"), err.get("message") or message
        except (ValueError, AttributeError):
            pass
        if kind is ApiAuthError and path.startswith("/api/v1/bridge/") and "register" not in path:
            message = (
                f"{message}: the bridge token was refused (revoked or rotated). "
                "Run `signalos-bridge register` again."
            )
        return kind(
            f"{path}: HTTP {resp.status_code} {code or ''} {message}".strip(),
            status=resp.status_code,
            code=code,
        )

    def _bridge_token(self) -> str:
        if not self.token:
            raise ApiAuthError("no bridge token: run `signalos-bridge register` first")
        return self.token

    # ---- the bridge API ----------------------------------------------------------------------
    def login(self, username: str, password: str) -> str:
        body = self._request(
            "POST", "/api/v1/auth/login", json={"username": username, "password": password}, retry=False
        )
        token = body.get("access_token")
        if not token:
            raise ApiError("login answered without an access token")
        return token

    def register(self, access_token: str, request: dict) -> dict:
        return self._request("POST", "/api/v1/bridge/register", json=request, auth=access_token, retry=False)

    def pair(self, code: str) -> dict:
        return self._request("POST", "/api/v1/bridge/pair", json={"code": code.strip().upper()}, retry=False)

    def session(self) -> BridgeSession:
        body = self._request("POST", "/api/v1/bridge/session", auth=self._bridge_token())
        try:
            creds = body["credentials"]
            return BridgeSession(
                account_id=body["account_id"],
                queue_url=body["queue_url"],
                region=body.get("region") or "us-east-1",
                endpoint_url=body.get("endpoint_url"),
                credentials=QueueCredentials(
                    access_key_id=creds["access_key_id"],
                    secret_access_key=creds["secret_access_key"],
                    session_token=creds["session_token"],
                    expiration=parse_time(creds["expiration"]),
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(f"/api/v1/bridge/session: malformed response ({exc})") from None

    def heartbeat(self, heartbeat: Heartbeat) -> datetime | None:
        body = self._request(
            "POST",
            "/api/v1/bridge/heartbeat",
            json=heartbeat.model_dump(mode="json"),
            auth=self._bridge_token(),
        )
        server_time = body.get("server_time")
        return parse_time(server_time) if server_time else None

    def post_reports(self, reports: Iterable[ExecutionReport]) -> list[ReportResult]:
        pending = list(reports)
        results: list[ReportResult] = []
        for start in range(0, len(pending), MAX_REPORTS_PER_POST):
            chunk = pending[start : start + MAX_REPORTS_PER_POST]
            body = self._request(
                "POST",
                "/api/v1/bridge/reports",
                json={"reports": [r.model_dump(mode="json") for r in chunk]},
                auth=self._bridge_token(),
            )
            for item in body.get("results") or []:
                results.append(
                    ReportResult(report_id=item["report_id"], status=item["status"], error=item.get("error"))
                )
        return results
