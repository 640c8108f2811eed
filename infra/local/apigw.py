"""The API Gateway part of the local stack: request -> route -> payload-2.0 event -> handler -> response.

Shared by the HTTP front (`python -m infra.local`) and the `call_api` test fixture, so both
behave like the deployed HTTP API:
- CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered from the
  template's CorsConfiguration without invoking a function, as API Gateway does;
- a handler's result is turned into a response with payload 2.0's rules (a dict with
  `statusCode` is used as given, `cookies` become Set-Cookie headers, `isBase64Encoded` bodies
  are decoded; any other value is a 200 JSON body);
- a request no route matches gets 404 and a crashed handler 502, both in the platform's error
  body; the stack trace goes to the log, never to the client.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.local.events import LOCAL_DOMAIN, http_event
from infra.local.invoke import FunctionRunner, make_context
from infra.local.routing import Router
from infra.local.template import Template

log = logging.getLogger("signalos.local.api")


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    function_id: str | None = None  # which function answered (None: the local API itself)

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    def header_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in self.headers:
            key = k.lower()
            out[key] = f"{out[key]}, {v}" if key in out else v
        return out

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def error_body(
    code: str, message: str, *, request_id: str, details: Mapping[str, Any] | None = None
) -> bytes:
    """The platform's error body (reference/security.md)."""
    now = datetime.now(UTC)
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "details": dict(details or {}),
                "timestamp": timestamp,
                "request_id": request_id,
            }
        }
    ).encode()


def to_http_response(result: Any) -> HttpResponse:
    """Payload format 2.0: how API Gateway turns a Lambda result into an HTTP response."""
    if isinstance(result, Mapping) and "statusCode" in result:
        status = int(result["statusCode"])
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
        headers += [("set-cookie", str(c)) for c in result.get("cookies") or []]
        body = result.get("body")
        if body is None:
            raw = b""
        elif result.get("isBase64Encoded"):
            raw = base64.b64decode(body)
        else:
            raw = str(body).encode()
        return HttpResponse(status, headers, raw)
    # No statusCode: API Gateway assumes 200 and a JSON body made of the result.
    raw = result.encode() if isinstance(result, str) else json.dumps(result).encode()
    return HttpResponse(200, [("content-type", "application/json")], raw)


class LocalApi:
    """Routes requests to template functions and invokes them in this process."""

    def __init__(
        self, template: Template, runner: FunctionRunner | None = None, *, stage: str = "local"
    ) -> None:
        self.template = template
        self.stage = stage
        self.router = Router.from_template(template)
        self.runner = runner or FunctionRunner(template.functions(), stage=stage)
        apis = template.resources_of_type("AWS::Serverless::HttpApi")
        first = next(iter(apis.values()), {})
        self.cors: dict[str, Any] = dict(first.get("Properties", {}).get("CorsConfiguration") or {})

    # -- CORS, as API Gateway applies it when CorsConfiguration is set
    def _allowed_origin(self, origin: str | None) -> str | None:
        if not origin or not self.cors:
            return None
        allowed = self.cors.get("AllowOrigins") or []
        if "*" in allowed:
            return "*"
        return origin if origin in allowed else None

    def _preflight(self, headers: Mapping[str, str]) -> HttpResponse | None:
        origin = headers.get("origin")
        if not self.cors or not origin or "access-control-request-method" not in headers:
            return None
        allow_origin = self._allowed_origin(origin)
        out = [("content-length", "0")]
        if allow_origin:
            out += [
                ("access-control-allow-origin", allow_origin),
                ("access-control-allow-methods", ",".join(self.cors.get("AllowMethods") or ["*"])),
                ("access-control-allow-headers", ",".join(self.cors.get("AllowHeaders") or ["*"])),
            ]
            if self.cors.get("MaxAge") is not None:
                out.append(("access-control-max-age", str(self.cors["MaxAge"])))
            if self.cors.get("AllowCredentials"):
                out.append(("access-control-allow-credentials", "true"))
        return HttpResponse(204, out, b"")

    def _add_cors(self, response: HttpResponse, headers: Mapping[str, str]) -> None:
        allow_origin = self._allowed_origin(headers.get("origin"))
        if not allow_origin:
            return
        response.headers = [
            (k, v) for k, v in response.headers if not k.lower().startswith("access-control-")
        ]
        response.headers.append(("access-control-allow-origin", allow_origin))
        if self.cors.get("ExposeHeaders"):
            response.headers.append(("access-control-expose-headers", ",".join(self.cors["ExposeHeaders"])))
        if self.cors.get("AllowCredentials"):
            response.headers.append(("access-control-allow-credentials", "true"))

    def handle(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        body: bytes | str | None = None,
        query: str | Mapping[str, Any] | None = None,
        source_ip: str = "127.0.0.1",
    ) -> HttpResponse:
        """Answer one HTTP request as the deployed API would."""
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        lower = {k.lower(): v for k, v in pairs}
        request_id = str(uuid.uuid4())
        if method.upper() == "OPTIONS":
            preflight = self._preflight(lower)
            if preflight is not None:
                preflight.headers.append(("apigw-requestid", request_id))
                return preflight
        match = self.router.match(method, path)
        if match is None:
            response = HttpResponse(
                404,
                [("content-type", "application/json")],
                error_body(
                    "NOT_FOUND",
                    f"No route for {method.upper()} {path}",
                    request_id=request_id,
                    details={"method": method.upper(), "path": path},
                ),
            )
        else:
            event = http_event(
                method,
                path,
                body=body,
                headers=pairs,
                query=query,
                route_key=match.route_key,
                path_parameters=match.path_parameters,
                source_ip=source_ip,
                request_id=request_id,
                domain_name=lower.get("host") or LOCAL_DOMAIN,
            )
            response = self._invoke(match.function_id, event, request_id)
        response.headers.append(("apigw-requestid", request_id))
        self._add_cors(response, lower)
        return response

    def _invoke(self, function_id: str, event: dict[str, Any], request_id: str) -> HttpResponse:
        function = self.runner.functions[function_id]
        context = make_context(function, stage=self.stage)
        try:
            response = to_http_response(self.runner.run(function_id, event, context=context))
        except Exception:
            log.exception(
                "%s (%s) failed on %s %s",
                function_id,
                function.handler,
                event["requestContext"]["http"]["method"],
                event["rawPath"],
            )
            response = HttpResponse(
                502,
                [("content-type", "application/json")],
                error_body(
                    "FUNCTION_ERROR",
                    "The function behind this route failed; the error is in the local stack's log.",
                    request_id=request_id,
                    details={"function": function_id},
                ),
            )
        response.function_id = function_id
        return response
