"""Lambda entry point of the trading API: subscriptions and trades (routes in routes.py)."""

from signalos.common.api import create_app
from signalos.common.observability import instrumented
from signalos.trading.routes import router

app = create_app("trading")
app.include_router(router)
lambda_handler = instrumented(app)
