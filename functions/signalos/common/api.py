"""The HTTP app every bounded context serves: one resolver factory, one error body, one set of headers.

Every context's `handler.py` is these lines (and nothing else):

    \"\"\"Lambda entry point of the <ctx> API (routes in routes.py).\"\"\"

    from signalos.common.api import create_app
    from signalos.common.observability import instrumented
    from signalos.<ctx>.routes import router

    app = create_app("<ctx>")
    app.include_router(router)
    lambda_handler = instrumented(app)

and `routes.py` holds a Powertools `Router`:

    router = Router()

    @router.get("/api/v1/<ctx>/things/<thing_id>")
    @require_feature("signal_parsing")
    def get_thing(thing_id: str) -> ThingOut:
        principal = current_principal(router)
        ...raise NotFound("thing not found") if it is not the caller's...

Annotate the return type with the response model (it is validated and goes into the OpenAPI
document). For another status code use `@router.post(..., status_code=201)`, or return
`Response[ThingOut]` (annotate `-> Response[ThingOut]`: a bare `-> Response` breaks the docs).

What `create_app` gives every route:
- the caller is checked before the request is validated: a route decorated with `require_auth`,
  `require_admin`, `require_feature` (signalos.common.guards) or another `guarded_by` guard answers
  401/403 to a caller who may not use it, whatever the body (never a 422 that shows them the
  schema); routes without a guard (login, health, webhook...) are untouched;
- request validation (pydantic, `enable_validation=True`): a bad body, query or path value is a
  422 `VALIDATION_ERROR` whose `details.fields` names each bad field;
- `ApiError` (signalos.common.errors) -> its status and the error body;
- unknown route -> 404 `NOT_FOUND`; body over 256 KB -> 413 `PAYLOAD_TOO_LARGE`;
  malformed JSON -> 400 `MALFORMED_JSON`; unsupported content type -> 415;
- any other exception -> 500 `INTERNAL_ERROR`, logged with its stack, never returned;
- `request_id` in error bodies = API Gateway's `requestContext.requestId` (also the log correlation id);
- security headers on every response and CORS for browser clients.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Route
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from signalos.common import settings
from signalos.common.errors import ApiError, PayloadTooLarge, error_body
from signalos.common.guards import enforce_route_guards
from signalos.common.observability import logger

# JSON responses never need to load anything; HTML (Swagger UI only) needs its inlined assets.
JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HTML_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'")
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "X-API-Key", "Idempotency-Key", "X-Request-Id"]
CORS_EXPOSE_HEADERS = ["X-Request-Id", "Retry-After"]


def request_id_of(app: Any) -> str | None:
    """The API Gateway request id of the request being handled (None outside a request)."""
    try:
        event = app.current_event
        return event.request_context.request_id or None
    except Exception:
        return None


def body_size(raw_event: Mapping[str, Any]) -> int:
    """Size in bytes of the request body as the client sent it (base64 decoded)."""
    body = raw_event.get("body")
    if not body:
        return 0
    if raw_event.get("isBase64Encoded"):
        # 4 base64 chars carry 3 bytes; exact enough to enforce a limit without decoding it.
        return len(body) * 3 // 4 - body.count("=", -2)
    return len(body.encode("utf-8")) if isinstance(body, str) else len(body)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_details(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """`{"fields": [{"field": "body.username", "type": "missing", "message": "Field required"}]}`.

    The input value is never echoed (it may be a password); messages are pydantic's short texts.
    """
    fields = []
    for err in errors:
        loc = err.get("loc") or ()
        fields.append({
            "field": _field_name(loc),
            "type": str(err.get("type", "invalid")),
            "message": str(err.get("msg", "invalid value"))[:200],
        })
    return {"fields": fields}


class SignalOSResolver(APIGatewayHttpResolver):
    """APIGatewayHttpResolver with SignalOS's body limit and response headers."""

    service: str = "signalos"
    max_body_bytes: int = settings.MAX_BODY_BYTES

    def _resolve(self) -> Any:
        # Checked before routing and validation so an oversized body is never parsed.
        if body_size(self.current_event.raw_event) > self.max_body_bytes:
            limit = self.max_body_bytes

            def too_large() -> None:
                raise PayloadTooLarge(f"Request body exceeds {limit // 1024} KB",
                                      details={"max_bytes": limit})

            route = Route(rule=self._compile_regex(r".*"), method=self.current_event.http_method.upper(),
                          path=self.current_event.path, func=too_large, cors=self._cors_enabled,
                          compress=False, enable_validation=False)
            self.append_context(_route=route, _path=self.current_event.path)
            return self._call_route(route=route, route_arguments={})
        return super()._resolve()

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        request_id = None
        if isinstance(event, Mapping):
            request_id = (event.get("requestContext") or {}).get("requestId")
        try:
            response = super().resolve(event, context)
        except Exception:
            # Only reachable if an error handler itself failed: still answer in the house format.
            logger.exception("unhandled error outside the route")
            response = {
                "statusCode": 500,
                "headers": {"Content-Type": content_types.APPLICATION_JSON},
                "body": json.dumps(error_body("INTERNAL_ERROR", "Internal error", None, request_id)),
                "isBase64Encoded": False,
            }
        return _with_security_headers(response, request_id)


def _with_security_headers(response: dict[str, Any], request_id: str | None) -> dict[str, Any]:
    headers = dict(response.get("headers") or {})
    lower = {k.lower() for k in headers}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "") or ""
    for name, value in SECURITY_HEADERS.items():
        if name.lower() not in lower:
            headers[name] = value
    if "content-security-policy" not in lower:
        headers["Content-Security-Policy"] = HTML_CSP if content_type.startswith("text/html") else JSON_CSP
    if request_id and "x-request-id" not in lower:
        headers["X-Request-Id"] = request_id
    response["headers"] = headers
    return response


def _error_response(app: Any, status: int, code: str, message: str,
                    details: Mapping[str, Any] | None = None,
                    headers: Mapping[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=error_body(code, message, details, request_id_of(app)),
                    headers=dict(headers or {}))


def _is_malformed_json(errors: list[dict[str, Any]]) -> bool:
    return any(err.get("type") == "json_invalid" for err in errors)


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    """Shape every error the app can meet into the house error body."""

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        if exc.status >= 500:
            logger.error("server error", extra={"code": exc.code}, exc_info=exc)
        return _error_response(app, exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    def _validation_error(exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        if _is_malformed_json(errors):
            return _error_response(app, 400, "MALFORMED_JSON", "Request body is not valid JSON")
        return _error_response(app, 422, "VALIDATION_ERROR", "Request validation failed",
                               validation_details(errors))

    @app.exception_handler(json.JSONDecodeError)
    def _json_error(exc: json.JSONDecodeError) -> Response:
        # Routes that read current_event.json_body themselves end up here.
        return _error_response(app, 400, "MALFORMED_JSON", "Request body is not valid JSON")

    @app.exception_handler(binascii.Error)
    def _base64_error(exc: binascii.Error) -> Response:
        return _error_response(app, 400, "MALFORMED_BODY", "Request body is not valid base64")

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_type(exc: RequestUnsupportedContentType) -> Response:
        return _error_response(app, 415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json")

    @app.exception_handler(NotFoundError)
    def _not_found(exc: NotFoundError) -> Response:
        return _error_response(app, 404, "NOT_FOUND", "No such route",
                               {"method": app.current_event.http_method, "path": app.current_event.path})

    @app.exception_handler(ServiceError)
    def _service_error(exc: ServiceError) -> Response:
        # Powertools' own HTTP errors (e.g. BadRequestError) raised by library code.
        code = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}.get(exc.status_code, "ERROR")
        if exc.status_code >= 500:
            logger.error("service error", exc_info=exc)
            return _error_response(app, exc.status_code, "INTERNAL_ERROR", "Internal error")
        return _error_response(app, exc.status_code, code, str(exc.msg))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
        return _error_response(app, 500, "INTERNAL_ERROR", "Internal error")


def authorize_before_validation(app: APIGatewayHttpResolver) -> None:
    """Enforce the matched route's guards (signalos.common.guards) before its request is validated.

    Powertools builds each route's middleware stack once, at its first request, in a fixed order:
    `app._request_validation_middleware` first, then `app.use` (router) middlewares, then the
    route's own, then response validation and the route. Nothing registered with `app.use` or on
    the route can run before validation, so the guard check takes the validation slot itself and
    hands on to the validation middleware. Exceptions it raises go through the app's exception
    handlers like a route's (ApiError -> 401/403 error body).
    """
    validate = getattr(app, "_request_validation_middleware", None)
    if validate is None:
        # A Powertools version that stores its validation middleware elsewhere: refuse to start
        # rather than silently validate before authorizing.
        raise RuntimeError("Powertools' request validation middleware was not found")

    def authorize_then_validate(app: Any, next_middleware: Any) -> Any:
        route = app.context.get("_route")  # the matched Route, set by the resolver before calling it
        if route is not None:
            enforce_route_guards(route.func, app)
        return validate(app, next_middleware)

    app._request_validation_middleware = authorize_then_validate  # type: ignore[attr-defined]


def create_app(service: str, *, cors_origin: str | None = None) -> SignalOSResolver:
    """A configured resolver for one bounded context (see the module docstring)."""
    cors = CORSConfig(
        allow_origin=cors_origin or settings.cors_allow_origin(),
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        max_age=600,
        allow_credentials=False,
    )
    app = SignalOSResolver(cors=cors, enable_validation=True)
    app.service = service
    register_error_handlers(app)
    authorize_before_validation(app)
    return app


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response with an explicit status (e.g. 201) and extra headers."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body,
                    headers=dict(headers or {}))
