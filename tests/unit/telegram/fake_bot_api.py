"""A faithful fake of the Telegram Bot API endpoints SignalOS calls, on a real local HTTP port.

    POST /bot<token>/getFile      {"file_id"}
         -> {"ok": true, "result": {file_id, file_unique_id, file_size, file_path}}
    GET  /file/bot<token>/<path>  -> the file's bytes
    POST /bot<token>/setWebhook   {"url", "secret_token", ...}
         -> {"ok": true, "result": true, "description": "Webhook was set"}

Shapes follow https://core.telegram.org/bots/api (errors: {"ok": false, "error_code", "description"}).
A wrong token answers 401 "Unauthorized"; an unknown file_id 400 "Bad Request: invalid file_id".
Every request is recorded (method, path, JSON body) so tests can assert what was asked.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BAD_WEBHOOK = "Bad Request: bad webhook: HTTPS url must be provided for webhook"
TOKEN = "123456789:AAHfakeTokenForTestsOnly_abcdefghijk"


class FakeBotApi:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self.requests: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                self._send(status, json.dumps(payload).encode())

            def do_GET(self) -> None:
                fake.requests.append({"method": "GET", "path": self.path})
                prefix = f"/file/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                wanted = self.path[len(prefix) :]
                for path, content in fake.files.values():
                    if path == wanted:
                        return self._send(200, content, "image/jpeg")
                return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {}
                fake.requests.append({"method": "POST", "path": self.path, "json": body})
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    return self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                method = self.path[len(prefix) :]
                if method == "getFile":
                    entry = fake.files.get(body.get("file_id", ""))
                    if entry is None:
                        return self._json(
                            400,
                            {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                        )
                    path, content = entry
                    return self._json(
                        200,
                        {
                            "ok": True,
                            "result": {
                                "file_id": body["file_id"],
                                "file_unique_id": "AQAD" + body["file_id"][-6:],
                                "file_size": len(content),
                                "file_path": path,
                            },
                        },
                    )
                if method == "setWebhook":
                    url = body.get("url", "")
                    if url and not url.startswith("https://"):
                        return self._json(
                            400,
                            {
                                "ok": False,
                                "error_code": 400,
                                "description": BAD_WEBHOOK,
                            },
                        )
                    fake.webhook = body
                    return self._json(200, {"ok": True, "result": True, "description": "Webhook was set"})
                if method == "getWebhookInfo":
                    info = {
                        "url": (fake.webhook or {}).get("url", ""),
                        "has_custom_certificate": False,
                        "pending_update_count": 0,
                    }
                    return self._json(200, {"ok": True, "result": info})
                return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def add_photo(self, file_id: str, content: bytes, path: str | None = None) -> None:
        self.files[file_id] = (path or f"photos/file_{len(self.files)}.jpg", content)

    def __enter__(self) -> FakeBotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
