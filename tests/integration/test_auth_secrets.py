"""The JWT signing key is read from Secrets Manager through Powertools Parameters (template's secret)."""

from __future__ import annotations

from signalos.common import secrets


def test_secret_read_through_powertools_from_secrets_manager(aws):
    arn = aws.ref("JwtSigningSecret")
    secrets.reset()
    value = secrets.get_secret_json("JWT_SECRET_ARN")
    assert value == aws.secret_json("JwtSigningSecret") and len(value["signing_key"]) >= 32
    assert arn.startswith("arn:aws:secretsmanager:")
    assert secrets.jwt_signing_key() == value["signing_key"]
