"""Lambda entry point of the analytics API (routes in routes.py)."""

from signalos.analytics.routes import router
from signalos.common.api import create_app
from signalos.common.observability import instrumented

app = create_app("analytics")
app.include_router(router)
lambda_handler = instrumented(app)
