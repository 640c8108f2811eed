"""The API's OpenAPI document and Swagger UI, generated from every context's `routes.router`.

ROUTE_MODULES is the one list of route modules. The document is built on the first docs request
(not at import: the status function's other routes never pay for it) and kept for the life of
the process. A module that does not exist yet is skipped with a log line, so the docs keep
working while contexts are being added.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from signalos.common.observability import logger

ROUTE_MODULES = [
    "signalos.auth.routes",
    "signalos.status.routes",
    "signalos.signals.routes",
    "signalos.telegram.routes",
    "signalos.trading.routes",
    "signalos.bridge_api.routes",
    "signalos.analytics.routes",
    "signalos.admin.routes",
]
TITLE = "SignalOS API"
DESCRIPTION = ("Parse trading signals, size them to each subscriber's risk, execute them on MetaTrader 5, "
               "and measure providers. Authenticate with `Authorization: Bearer <access token>` "
               "(POST /api/v1/auth/login) or `X-API-Key: sos_...`.")


def load_routers() -> tuple[list[tuple[str, Any]], list[str]]:
    """(module name, router) of every route module that imports; and the names skipped."""
    loaded, skipped = [], []
    for name in ROUTE_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise_or_log(name)
            else:  # that context has not been written yet
                logger.warning("route module not present; left out of the API docs",
                               extra={"route_module": name})
            skipped.append(name)
            continue
        except Exception:
            raise_or_log(name)
            skipped.append(name)
            continue
        router = getattr(module, "router", None)
        if router is None:
            logger.error("route module has no `router`", extra={"route_module": name})
            skipped.append(name)
            continue
        loaded.append((name, router))
    return loaded, skipped


def raise_or_log(name: str) -> None:
    """A route module that exists but fails to import is a bug: log it with its stack."""
    logger.exception("route module failed to import; left out of the API docs", extra={"route_module": name})


@lru_cache(maxsize=1)
def _docs_app() -> Any:
    from signalos.common.api import create_app

    app = create_app("docs")
    routers, _ = load_routers()
    for _, router in routers:
        # include_router points the router at this app for request state; the router keeps
        # serving its own function's app, so give it back.
        previous = router.api_resolver
        try:
            app.include_router(router)
        finally:
            router.api_resolver = previous
    return app


def _version() -> str:
    from signalos.status.version import app_version

    return app_version()


@lru_cache(maxsize=1)
def openapi_json() -> str:
    from aws_lambda_powertools.event_handler.openapi.models import (
        APIKey,
        APIKeyIn,
        HTTPBearer,
        Server,
    )

    return _docs_app().get_openapi_json_schema(
        title=TITLE, version=_version(), description=DESCRIPTION, servers=[Server(url="/")],
        security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT"),
                          "apiKeyAuth": APIKey(name="X-API-Key", **{"in": APIKeyIn.header})},
        security=[{"bearerAuth": []}, {"apiKeyAuth": []}],
    )


def openapi_document() -> dict[str, Any]:
    import json

    return json.loads(openapi_json())


@lru_cache(maxsize=1)
def swagger_html() -> str:
    import aws_lambda_powertools.event_handler as event_handler
    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = Path(event_handler.__file__).parent / "openapi" / "swagger_ui"
    js = (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    css = (assets / "swagger-ui.min.css").read_text(encoding="utf-8")
    spec = openapi_json().replace("</", "<\\/")  # the spec is inlined in a <script>
    return generate_swagger_html(spec, js, css, None, None, False)
