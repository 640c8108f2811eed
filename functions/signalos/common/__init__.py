"""Pieces every bounded context shares: HTTP app factory, errors, guards, observability, data access."""
