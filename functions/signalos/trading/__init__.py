"""Trading: subscriptions, fan-out of signals into orders, trade records and the trades API."""
