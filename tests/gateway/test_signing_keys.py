"""Keys: generated and kept in dev mode, required (and long enough) outside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from anb_common.settings import SecuritySettings
from anb_gateway.signing_keys import MIN_KEY_BYTES, SigningKeyError, load


def test_dev_mode_generates_once_and_keeps_the_keys(tmp_path: Path) -> None:
    settings = SecuritySettings(dev_mode=True, devdata_dir=tmp_path)
    first = load(settings)
    assert len(first.jwt) >= MIN_KEY_BYTES
    assert len(first.internal) >= MIN_KEY_BYTES
    assert first.jwt != first.internal
    assert load(settings) == first
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_outside_dev_mode_a_missing_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="ANB_JWT_SECRET is required"):
        load(SecuritySettings(dev_mode=False, devdata_dir=tmp_path, internal_secret=SecretStr("i" * 32)))
    assert not (tmp_path / "secrets.json").exists()


def test_a_short_key_is_refused_in_any_mode(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="at least 32 bytes"):
        load(SecuritySettings(dev_mode=True, devdata_dir=tmp_path, jwt_secret=SecretStr("short")))


def test_given_keys_are_used(tmp_path: Path) -> None:
    keys = load(
        SecuritySettings(dev_mode=False, jwt_secret=SecretStr("j" * 32), internal_secret=SecretStr("i" * 40))
    )
    assert (keys.jwt, keys.internal) == ("j" * 32, "i" * 40)
