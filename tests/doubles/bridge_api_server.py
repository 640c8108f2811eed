"""A small real HTTP server speaking the bridge API contract (BRIEF: "The bridge API contract").

Used by the bridge tests until/besides the real API: it validates bodies with the shared
contract models, applies reports idempotently by report_id (applied / duplicate), rejects a
report for another account, answers errors in the platform's error body, and can be told to
fail the next requests (503) to exercise retries and the "delete only after accepted" rule.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import ValidationError
from signalos.contracts.execution import ExecutionReport, Heartbeat


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeBridgeApi:
    def __init__(
        self,
        *,
        account_id: str,
        token: str = "sosb_test_token_0123456789",
        queue_url: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        credential_ttl: timedelta = timedelta(minutes=15),
        clock_offset: timedelta = timedelta(0),
    ) -> None:
        self.account_id = account_id
        self.token = token
        self.queue_url = queue_url
        self.endpoint_url = endpoint_url
        self.region = region
        self.credential_ttl = credential_ttl
        self.clock_offset = clock_offset
        self.applied: dict[str, dict] = {}
        self.report_posts: list[list[dict]] = []
        self.heartbeats: list[dict] = []
        self.sessions = 0
        self.fail_next: list[int] = []  # HTTP statuses to answer for the next requests
        self.fail_paths: dict[str, list[int]] = {}  # per path: statuses for its next requests
        self.reject_reports: set[str] = set()  # report ids answered "rejected"
        self.pairing_codes: dict[str, str] = {}
        self.users: dict[str, str] = {}
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- server life cycle --------------------------------------------------------------------------
    def start(self) -> str:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = api.handle(self.path, self.headers.get("Authorization", ""), raw)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ---- the routes ---------------------------------------------------------------------------------
    @staticmethod
    def error(status: int, code: str, message: str) -> tuple[int, dict]:
        return status, {
            "error": {
                "code": code,
                "message": message,
                "details": {},
                "timestamp": _iso(datetime.now(UTC)),
                "request_id": "req-test",
            }
        }

    def handle(self, path: str, authorization: str, raw: bytes) -> tuple[int, dict]:
        with self.lock:
            if self.fail_next:
                return self.error(self.fail_next.pop(0), "SERVICE_UNAVAILABLE", "try again")
            if self.fail_paths.get(path):
                return self.error(self.fail_paths[path].pop(0), "SERVICE_UNAVAILABLE", "try again")
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self.error(400, "BAD_REQUEST", "malformed JSON")
            if path == "/api/v1/auth/login":
                if self.users.get(body.get("username")) != body.get("password"):
                    return self.error(401, "INVALID_CREDENTIALS", "wrong username or password")
                return 200, {
                    "access_token": "jwt-" + body["username"],
                    "token_type": "bearer",
                    "expires_in": 3600,
                }
            if path == "/api/v1/bridge/register":
                if not authorization.startswith("Bearer jwt-"):
                    return self.error(401, "UNAUTHORIZED", "login required")
                return 201, {
                    "account_id": self.account_id,
                    "bridge_token": self.token,
                    "queue_url": self.queue_url,
                    "account": {
                        "account_id": self.account_id,
                        "name": body.get("name"),
                        "kind": body.get("kind"),
                    },
                }
            if path == "/api/v1/bridge/pair":
                if self.pairing_codes.pop(str(body.get("code")), None) is None:
                    return self.error(404, "NOT_FOUND", "unknown or used pairing code")
                return 200, {
                    "account_id": self.account_id,
                    "bridge_token": self.token,
                    "queue_url": self.queue_url,
                }
            if authorization != f"Bearer {self.token}":
                return self.error(401, "UNAUTHORIZED", "invalid bridge token")
            if path == "/api/v1/bridge/session":
                self.sessions += 1
                expires = datetime.now(UTC) + self.credential_ttl
                return 200, {
                    "account_id": self.account_id,
                    "queue_url": self.queue_url,
                    "region": self.region,
                    "endpoint_url": self.endpoint_url,
                    "credentials": {
                        "access_key_id": f"ASIATEST{self.sessions:08d}",
                        "secret_access_key": "secret",
                        "session_token": "session",
                        "expiration": _iso(expires),
                    },
                }
            if path == "/api/v1/bridge/heartbeat":
                try:
                    Heartbeat.model_validate(body)
                except ValidationError as exc:
                    return self.error(422, "VALIDATION_ERROR", str(exc))
                self.heartbeats.append(body)
                return 200, {"ok": True, "server_time": _iso(datetime.now(UTC) + self.clock_offset)}
            if path == "/api/v1/bridge/reports":
                return self._reports(body)
            return self.error(404, "NOT_FOUND", f"no route {path}")

    def _reports(self, body: dict) -> tuple[int, dict]:
        items = body.get("reports")
        if not isinstance(items, list) or not 1 <= len(items) <= 100:
            return self.error(422, "VALIDATION_ERROR", "reports must be a list of 1..100")
        self.report_posts.append(items)
        results = []
        for item in items:
            try:
                report = ExecutionReport.model_validate(item)
            except ValidationError as exc:
                results.append(
                    {"report_id": item.get("report_id"), "status": "rejected", "error": str(exc)[:200]}
                )
                continue
            if report.account_id != self.account_id or report.report_id in self.reject_reports:
                results.append(
                    {"report_id": report.report_id, "status": "rejected", "error": "not your account"}
                )
            elif report.report_id in self.applied:
                results.append({"report_id": report.report_id, "status": "duplicate", "error": None})
            else:
                self.applied[report.report_id] = item
                results.append({"report_id": report.report_id, "status": "applied", "error": None})
        return 200, {"results": results}

    # ---- helpers for assertions ---------------------------------------------------------------------
    def statuses(self) -> dict[str, str]:
        return {rid: r["status"] for rid, r in self.applied.items()}
