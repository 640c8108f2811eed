"""Health, readiness, metrics, version and the API documentation."""
