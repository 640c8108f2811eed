"""License tiers from data, the stage default, expiry and feature checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from signalos.auth import licenses
from signalos.common.clock import iso
from signalos.common.guards import FEATURES, effective_features

NOW = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


def test_every_tier_is_defined_with_known_features():
    defs = licenses.tier_definitions()
    assert set(defs) == set(licenses.TIERS)
    for tier in defs.values():
        assert set(tier["features"]) <= set(FEATURES) and tier["device_limit"] >= 1


def test_trial_has_every_feature_for_fourteen_days():
    lic = licenses.license_for_tier("trial", now=NOW)
    assert set(lic["features"]) == set(FEATURES)
    assert lic["expires_at"] == iso(NOW + timedelta(days=14))


def test_basic_lacks_auto_trading():
    lic = licenses.license_for_tier("basic", now=NOW)
    assert "auto_trading" not in licenses.active_features(lic, NOW)
    assert "signal_parsing" in licenses.active_features(lic, NOW)


@pytest.mark.parametrize(("env", "expected"),
                         [(None, "trial"), ("pro", "pro"), ("PRO", "pro"), ("gold", "trial")])
def test_default_tier_follows_the_stage_setting(monkeypatch, env, expected):
    if env is None:
        monkeypatch.delenv("DEFAULT_LICENSE_TIER", raising=False)
    else:
        monkeypatch.setenv("DEFAULT_LICENSE_TIER", env)
    assert licenses.default_license(NOW)["tier"] == expected


def test_expired_license_grants_nothing():
    lic = licenses.license_for_tier("enterprise", now=NOW - timedelta(days=400))
    assert licenses.is_expired(lic, NOW)
    assert licenses.active_features(lic, NOW) == frozenset()
    status = licenses.license_status(lic, devices_used=1, now=NOW)
    assert status["valid"] is False and status["status"] == "expired" and status["days_remaining"] == 0
    assert not any(status["features"].values())


def test_license_without_expiry_never_expires():
    lic = {"tier": "enterprise", "expires_at": None, "device_limit": 3, "features": ["auto_trading"]}
    assert not licenses.is_expired(lic, NOW + timedelta(days=10_000))
    assert licenses.days_remaining(lic, NOW) is None


def test_guard_feature_evaluation_matches_expiry():
    expires = int((NOW + timedelta(hours=1)).timestamp())
    assert effective_features(["auto_trading", "bogus"], expires, now=NOW.timestamp()) == {"auto_trading"}
    assert effective_features(["auto_trading"], expires, now=expires + 1) == frozenset()
    assert effective_features(["auto_trading"], None, now=NOW.timestamp()) == {"auto_trading"}
