"""Lambda entry point of the admin API (routes in routes.py)."""

from signalos.admin.routes import router
from signalos.common.api import create_app
from signalos.common.observability import instrumented

app = create_app("admin")
app.include_router(router)
lambda_handler = instrumented(app)
