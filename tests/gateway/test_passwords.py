"""Argon2id at OWASP's parameters, and rehashing when the configured cost rises."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from anb_gateway.passwords import Passwords
from anb_gateway.settings import PasswordSettings


async def test_hash_verifies_and_rejects() -> None:
    passwords = Passwords(PasswordSettings())
    stored = await passwords.hash("clave-segura-2026")
    assert stored.startswith("$argon2id$")
    assert (await passwords.verify(stored, "clave-segura-2026")).valid
    assert not (await passwords.verify(stored, "otra")).valid


async def test_unknown_user_never_verifies() -> None:
    assert not (await Passwords(PasswordSettings()).verify(None, "decoy password that matches nothing")).valid


async def test_a_stronger_setting_rehashes_on_login() -> None:
    old = await Passwords(PasswordSettings()).hash("clave-segura-2026")
    stronger = Passwords(PasswordSettings(time_cost=3))
    verdict = await stronger.verify(old, "clave-segura-2026")
    assert verdict.valid
    assert verdict.new_hash is not None
    assert "t=3" in verdict.new_hash
    assert (await stronger.verify(verdict.new_hash, "clave-segura-2026")).new_hash is None


def test_parameters_below_owasp_minimum_are_refused() -> None:
    with pytest.raises(ValidationError):
        PasswordSettings(memory_kib=8 * 1024)
    with pytest.raises(ValidationError):
        PasswordSettings(time_cost=1)
