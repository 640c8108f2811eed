"""Argon2id hashing: parameters, verification, rehash on parameter change, policy."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from signalos.auth import passwords


def test_hash_is_argon2id_with_owasp_parameters():
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$v=19$")
    params = stored.split("$")[3]
    assert params == f"m={19 * 1024},t=2,p=1"
    assert passwords.MEMORY_COST_KIB >= 19 * 1024 and passwords.TIME_COST >= 2 and passwords.PARALLELISM == 1


def test_verify_accepts_the_password_and_rejects_others():
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse batterY")
    assert not passwords.verify_password(stored, "")


def test_same_password_hashes_differently_each_time():
    assert passwords.hash_password("same password") != passwords.hash_password("same password")


def test_malformed_hash_is_a_mismatch_not_a_crash():
    assert not passwords.verify_password("not-a-hash", "x")
    assert not passwords.verify_password("", "x")


def test_weaker_parameters_need_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, type=Type.ID).hash("pw")
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(passwords.hash_password("pw"))
    argon2i = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.I).hash("pw")
    assert passwords.needs_rehash(argon2i)


def test_policy():
    assert passwords.policy_problem("short") == "must be at least 8 characters"
    assert passwords.policy_problem("x" * 129) == "must be at most 128 characters"
    assert passwords.policy_problem(" " * 10) == "must not be blank"
    assert passwords.policy_problem("Trader_One", "trader_one") == "must not be the same as the username"
    assert passwords.policy_problem("a long passphrase", "trader_one") is None
