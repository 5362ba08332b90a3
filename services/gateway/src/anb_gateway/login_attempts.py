"""Failed logins per account, on top of the per-address limit: guessing one player's password from
many addresses is bounded too, without handing attackers a way to lock that player out.

An account (an email, known or not: the answer must not tell which exist) that failed ``failures``
times within a window is refused (429 with ``Retry-After``) to every address that has itself failed
a login in that window. An address with no failure, typically the player's own, may still try, so
failures from elsewhere never lock the player out; its first failure puts it among the refused. So
an attacker gets at most one guess at a locked account per address and window, besides the
per-address limit, and the lock lifts by itself when the window ends. A right password is no
failure: its attempt is given back.

Attempts are counted when they begin, before the password is checked, so that guesses sent at once
cannot all pass the check before the first one fails; ``refund`` gives one back. Counted per process,
like the per-address limit (ratelimit.py). Emails are kept as short digests: the table's memory does
not grow with what attackers type, and it holds no addresses of players.
"""

from __future__ import annotations

import hashlib
import time

from anb_gateway.ratelimit import FixedWindows


class LoginAttempts:
    def __init__(self, failures: int, window_s: float, max_keys: int) -> None:
        self._accounts = FixedWindows(failures, window_s, max_keys)
        # Any failure marks an address: the limit of 1 is what "has failed" means.
        self._addresses = FixedWindows(1, window_s, max_keys)

    def begin(self, email: str, address: str, now: float | None = None) -> int | None:
        """A login about to be checked: None when it may go ahead (and it is counted as a failure
        until refunded), else the seconds until this address may try this account again."""
        now = time.monotonic() if now is None else now
        account = _account(email)
        locked = self._accounts.retry_after(account, now)
        dirty = self._addresses.retry_after(address, now)
        if locked is not None and dirty is not None:
            return min(locked, dirty)
        self._accounts.add(account, now)
        self._addresses.add(address, now)
        return None

    def refund(self, email: str, address: str, now: float | None = None) -> None:
        """The attempt ended without a wrong password: a right one, or no verdict (an outage)."""
        now = time.monotonic() if now is None else now
        self._accounts.refund(_account(email), now)
        self._addresses.refund(address, now)


def _account(email: str) -> bytes:
    # Matched as the unique index on lower(email) matches accounts (and as login looks them up).
    return hashlib.blake2b(email.strip().lower().encode(), digest_size=16).digest()
