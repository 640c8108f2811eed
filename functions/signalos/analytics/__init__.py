"""Analytics: metric definitions, aggregates kept current from trades, PDF reports."""
