"""The per-address window behind login and signup throttling."""

from __future__ import annotations

from anb_gateway.ratelimit import RateLimiter


def test_allows_up_to_the_limit_then_says_when_to_retry() -> None:
    limiter = RateLimiter(per_minute=3)
    assert [limiter.hit("a", now=100.0) for _ in range(3)] == [None, None, None]
    assert limiter.hit("a", now=110.0) == 50
    assert limiter.hit("b", now=110.0) is None


def test_window_reopens_after_a_minute() -> None:
    limiter = RateLimiter(per_minute=1)
    assert limiter.hit("a", now=0.0) is None
    assert limiter.hit("a", now=59.5) == 1
    assert limiter.hit("a", now=60.0) is None
