"""Lambda entry point of the Telegram webhook and chat-linking API (routes in routes.py)."""

from signalos.common.api import create_app
from signalos.common.observability import instrumented
from signalos.telegram.routes import router

app = create_app("telegram")
app.include_router(router)
lambda_handler = instrumented(app)
