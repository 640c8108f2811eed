"""Accounts and authentication: users, passwords, JWTs, refresh-token families, API keys, licenses."""
