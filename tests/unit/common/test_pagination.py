"""Cursors are opaque, round-trip, and cannot be pointed at someone else's partition."""

from __future__ import annotations

import pytest
from signalos.common.errors import BadRequest
from signalos.common.pagination import clamp_limit, decode_cursor, encode_cursor


def test_round_trip():
    key = {"pk": "USER#u1", "sk": "SIGNAL#s9"}
    token = encode_cursor(key)
    assert token and "USER" not in token
    assert decode_cursor(token, expect={"pk": "USER#u1"}) == key
    assert encode_cursor(None) is None and decode_cursor(None) is None


def test_cursor_for_another_partition_is_refused():
    token = encode_cursor({"pk": "USER#victim", "sk": "SIGNAL#1"})
    with pytest.raises(BadRequest) as exc:
        decode_cursor(token, expect={"pk": "USER#me"})
    assert exc.value.code == "INVALID_CURSOR" and exc.value.status == 400


@pytest.mark.parametrize("token", ["%%%", "bm90IGpzb24", "W10", "eyJwayI6IHsiYSI6IDF9fQ", "x" * 5000])
def test_garbage_is_refused(token):
    with pytest.raises(BadRequest):
        decode_cursor(token)


def test_limit_is_capped():
    assert clamp_limit(None) == 50 and clamp_limit(0) == 1
    assert clamp_limit(1000) == 100 and clamp_limit(7) == 7
