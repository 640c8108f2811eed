"""Lambda entry point of the signals API (routes in routes.py)."""

from typing import Any

from signalos.common import settings
from signalos.common.api import create_app
from signalos.common.observability import instrumented
from signalos.signals.routes import router

# An image upload carries up to 5 MB as base64 (~6.7 MB); every other route keeps the house limit.
UPLOAD_PATH = "/api/v1/signals/upload"
UPLOAD_MAX_BODY_BYTES = 7 * 1024 * 1024

app = create_app("signals")
app.include_router(router)
_handle = instrumented(app)


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    # One request per invocation: the limit is set for this request's path before routing.
    upload = isinstance(event, dict) and event.get("rawPath") == UPLOAD_PATH
    app.max_body_bytes = UPLOAD_MAX_BODY_BYTES if upload else settings.MAX_BODY_BYTES
    return _handle(event, context)
