"""Lambda entry point of the bridge API (routes in routes.py)."""

from signalos.bridge_api.routes import router
from signalos.common.api import create_app
from signalos.common.observability import instrumented

app = create_app("bridge")
app.include_router(router)
lambda_handler = instrumented(app)
