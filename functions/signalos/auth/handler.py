"""Lambda entry point of the auth API (routes in routes.py)."""

from signalos.auth.routes import router
from signalos.common.api import create_app
from signalos.common.observability import instrumented

app = create_app("auth")
app.include_router(router)
lambda_handler = instrumented(app)
