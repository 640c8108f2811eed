"""Lambda entry point of the status API (routes in routes.py)."""

from signalos.common.api import create_app
from signalos.common.observability import instrumented
from signalos.status.routes import router

app = create_app("status")
app.include_router(router)
lambda_handler = instrumented(app)
