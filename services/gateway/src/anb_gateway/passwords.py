"""Argon2id hashing, run in worker threads: one hash takes ~50 ms of CPU and must not stall the loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from anb_gateway.settings import PasswordSettings


@dataclass(frozen=True)
class Verdict:
    valid: bool
    new_hash: str | None = None
    """A fresh hash when the stored one used weaker parameters than the current settings."""


class Passwords:
    def __init__(self, settings: PasswordSettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_kib,
            parallelism=settings.parallelism,
        )
        # Verified against when the email is unknown, so that both failures cost the same time
        # and the response time does not reveal which addresses have accounts.
        self._decoy = self._hasher.hash("decoy password that matches nothing")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    def _verify(self, stored: str | None, password: str) -> Verdict:
        try:
            self._hasher.verify(stored or self._decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verdict(valid=False)
        if stored is None:
            return Verdict(valid=False)
        if self._hasher.check_needs_rehash(stored):
            return Verdict(valid=True, new_hash=self._hasher.hash(password))
        return Verdict(valid=True)

    async def verify(self, stored: str | None, password: str) -> Verdict:
        """Check a password against a stored hash (None: unknown user, still costs one hash)."""
        return await asyncio.to_thread(self._verify, stored, password)
