"""The platform started exactly as ``make run`` starts it (the ``anb-dev`` launcher), on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from anb_devstack import running
from anb_devstack.running import RunningPlatform


@pytest.fixture(scope="session")
def platform(session_tmp: Path) -> Iterator[RunningPlatform]:
    try:
        with running.platform(
            session_tmp / "platform",
            session_tmp / "platform.log",
            workers=2,
            # Many e2e tests sign up and log in from this one address; the limit is meant for people.
            extra_env={"ANB_AUTH_RATE_LIMIT_PER_MINUTE": "100000"},
        ) as started:
            yield started
    except running.PlatformFailed as exc:
        pytest.fail(str(exc))
