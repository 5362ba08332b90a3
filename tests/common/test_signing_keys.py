"""Keys: generated once and shared in dev mode, required (and long enough) outside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from anb_common.settings import SecuritySettings
from anb_common.signing_keys import MIN_KEY_BYTES, SigningKeyError, dev_keys, internal_key, jwt_key


def test_dev_mode_generates_once_and_keeps_the_keys(tmp_path: Path) -> None:
    settings = SecuritySettings(dev_mode=True, devdata_dir=tmp_path)
    jwt, internal = jwt_key(settings), internal_key(settings)
    assert len(jwt) >= MIN_KEY_BYTES
    assert len(internal) >= MIN_KEY_BYTES
    assert jwt != internal
    assert (jwt_key(settings), internal_key(settings)) == (jwt, internal)
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_the_launcher_and_the_services_read_the_same_dev_keys(tmp_path: Path) -> None:
    """The launcher hands dev_keys() to every service; a service started alone finds the same."""
    launcher = dev_keys(tmp_path)
    settings = SecuritySettings(dev_mode=True, devdata_dir=tmp_path)
    assert (jwt_key(settings), internal_key(settings)) == (
        launcher["jwt_secret"],
        launcher["internal_secret"],
    )


def test_outside_dev_mode_a_missing_key_refuses_to_start(tmp_path: Path) -> None:
    settings = SecuritySettings(dev_mode=False, devdata_dir=tmp_path, internal_secret=SecretStr("i" * 32))
    with pytest.raises(SigningKeyError, match="ANB_JWT_SECRET is required"):
        jwt_key(settings)
    assert not (tmp_path / "secrets.json").exists()


@pytest.mark.parametrize("empty", ["", None])
def test_an_empty_key_counts_as_missing(tmp_path: Path, empty: str | None) -> None:
    secret = SecretStr(empty) if empty is not None else None
    settings = SecuritySettings(dev_mode=False, devdata_dir=tmp_path, internal_secret=secret)
    with pytest.raises(SigningKeyError, match="ANB_INTERNAL_SECRET is required"):
        internal_key(settings)


def test_a_short_key_is_refused_in_any_mode(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="at least 32 bytes"):
        jwt_key(SecuritySettings(dev_mode=True, devdata_dir=tmp_path, jwt_secret=SecretStr("short")))
    with pytest.raises(SigningKeyError, match="at least 32 bytes"):
        internal_key(
            SecuritySettings(dev_mode=True, devdata_dir=tmp_path, internal_secret=SecretStr("i" * 31))
        )


def test_given_keys_are_used(tmp_path: Path) -> None:
    settings = SecuritySettings(
        dev_mode=False, jwt_secret=SecretStr("j" * 32), internal_secret=SecretStr("i" * 40)
    )
    assert (jwt_key(settings), internal_key(settings)) == ("j" * 32, "i" * 40)
