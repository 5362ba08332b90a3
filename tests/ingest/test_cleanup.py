"""A shielded cleanup runs to its end though the request awaiting it is cancelled, and its own
failure is logged and reported, never raised over the error that made it necessary."""

from __future__ import annotations

import asyncio
import logging

import pytest

from anb_ingest.cleanup import shielded


async def test_runs_to_its_end_when_the_request_is_cancelled() -> None:
    started, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def cleanup() -> None:
        started.set()
        await release.wait()
        finished.set()

    request = asyncio.create_task(shielded(cleanup(), "abort the upload"))
    await started.wait()
    request.cancel()  # the client went away while the cleanup was under way
    with pytest.raises(asyncio.CancelledError):
        await request
    assert not finished.is_set()
    release.set()
    await asyncio.wait_for(finished.wait(), timeout=60)


async def test_success_is_reported() -> None:
    async def cleanup() -> None:
        await asyncio.sleep(0)

    assert await shielded(cleanup(), "abort the upload") is True


async def test_a_failure_is_logged_and_reported_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def cleanup() -> None:
        raise ConnectionError("storage unreachable")

    with caplog.at_level(logging.ERROR, logger="anb_ingest.cleanup"):
        assert await shielded(cleanup(), "abort the upload") is False
    [record] = caplog.records
    assert record.getMessage() == "could not abort the upload; the periodic recovery will try again"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ConnectionError)
