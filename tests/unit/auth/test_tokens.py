"""JWT encode/decode rules (signalos.common.tokens): algorithms, required claims, typ, expiry."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from signalos.common import tokens

KEY = "k" * 64


def access(**overrides):
    args = {"user_id": "usr_1", "username": "ann", "role": "user", "license_tier": "pro",
            "features": ["auto_trading", "signal_parsing"], "license_expires_at": None, "session_id": "ses_1"}
    args.update(overrides)
    return tokens.issue_access_token(KEY, **args)


def test_access_token_round_trip_and_claims():
    issued = access()
    claims = tokens.decode_token(issued.token, KEY, expected_type=tokens.ACCESS)
    assert claims["sub"] == "usr_1" and claims["typ"] == "access" and claims["sid"] == "ses_1"
    assert claims["feat"] == ["auto_trading", "signal_parsing"]
    assert claims["exp"] - claims["iat"] == 900 == issued.expires_in
    assert set(tokens.REQUIRED_CLAIMS) <= set(claims)
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"


def test_refresh_token_round_trip():
    issued = tokens.issue_refresh_token(KEY, user_id="usr_1", family_id="ses_1", jti="j1")
    claims = tokens.decode_token(issued.token, KEY, expected_type=tokens.REFRESH)
    assert claims["fam"] == "ses_1" and claims["jti"] == "j1" and "role" not in claims


def test_types_are_not_interchangeable():
    with pytest.raises(tokens.TokenError) as exc:
        tokens.decode_token(access().token, KEY, expected_type=tokens.REFRESH)
    assert exc.value.code == "WRONG_TOKEN_TYPE"
    refresh = tokens.issue_refresh_token(KEY, user_id="usr_1", family_id="ses_1").token
    with pytest.raises(tokens.TokenError) as exc:
        tokens.decode_token(refresh, KEY, expected_type=tokens.ACCESS)
    assert exc.value.code == "WRONG_TOKEN_TYPE"


def test_expired_beyond_leeway_is_refused_within_leeway_accepted():
    old = datetime.now(UTC) - timedelta(seconds=900 + tokens.LEEWAY_SECONDS + 5)
    with pytest.raises(tokens.TokenError) as exc:
        tokens.decode_token(access(now=old).token, KEY, expected_type=tokens.ACCESS)
    assert exc.value.code == "TOKEN_EXPIRED"
    recent = datetime.now(UTC) - timedelta(seconds=900 + tokens.LEEWAY_SECONDS - 10)
    assert tokens.decode_token(access(now=recent).token, KEY, expected_type=tokens.ACCESS)["sub"] == "usr_1"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_alg_none_is_refused():
    claims = tokens.decode_token(access().token, KEY, expected_type=tokens.ACCESS)
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**claims, 'role': 'admin'})}."
    with pytest.raises(tokens.TokenError) as exc:
        tokens.decode_token(forged, KEY, expected_type=tokens.ACCESS)
    assert exc.value.code == "INVALID_TOKEN"


def test_other_hmac_algorithms_and_keys_are_refused():
    claims = tokens.decode_token(access().token, KEY, expected_type=tokens.ACCESS)
    hs512 = jwt.encode(claims, KEY, algorithm="HS512")
    other_key = jwt.encode(claims, "x" * 64, algorithm="HS256")
    for token in (hs512, other_key, access().token[:-3] + "abc"):
        with pytest.raises(tokens.TokenError):
            tokens.decode_token(token, KEY, expected_type=tokens.ACCESS)


def test_wrong_audience_or_issuer_is_refused(monkeypatch):
    token = access().token
    monkeypatch.setenv("JWT_AUDIENCE", "someone-else")
    with pytest.raises(tokens.TokenError):
        tokens.decode_token(token, KEY, expected_type=tokens.ACCESS)
    monkeypatch.delenv("JWT_AUDIENCE")
    monkeypatch.setenv("JWT_ISSUER", "evil")
    with pytest.raises(tokens.TokenError):
        tokens.decode_token(token, KEY, expected_type=tokens.ACCESS)


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "iss", "aud", "typ", "jti"])
def test_every_required_claim_is_required(missing):
    claims = tokens.decode_token(access().token, KEY, expected_type=tokens.ACCESS)
    del claims[missing]
    token = jwt.encode(claims, KEY, algorithm="HS256")
    with pytest.raises(tokens.TokenError):
        tokens.decode_token(token, KEY, expected_type=tokens.ACCESS)
