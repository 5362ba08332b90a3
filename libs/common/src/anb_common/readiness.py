"""A service's readiness: every dependency it needs answers, each within a time limit.

One pass is what the deep health answers (``/api/health``, ``/internal/health``), what the worker
asks before each poll, and what runs once a minute in the background. Each pass sets the minute's
``Ready`` metric (1 or 0, by ``Service``) and tells systemd: ``READY=1`` after the first pass (so a
``Type=notify`` unit counts as started only once it can serve), ``STATUS=`` when the state changes.
A change is logged once, not each minute it lasts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from anb_common.metrics import Metric, Metrics
from anb_common.notify import notify

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[object]]


class NotReady(Exception):
    """``dependency`` did not answer (in time); the message names it and the error."""

    def __init__(self, dependency: str, error: BaseException) -> None:
        lines = str(error).strip().splitlines()
        super().__init__(f"{dependency}: {type(error).__name__}" + (f": {lines[0]}" if lines else ""))
        self.dependency = dependency


class Readiness:
    def __init__(
        self, service: str, checks: Mapping[str, Check], metrics: Metrics, timeout_s: float = 2.0
    ) -> None:
        self._checks = dict(checks)
        self._timeout_s = timeout_s
        self._ready = metrics.series(Metric.READY, Service=service)
        self.passed = False
        """Whether a pass has ever succeeded (systemd was told READY=1)."""
        self._status = ""

    async def check(self) -> None:
        """One pass, in the order the checks were given; raises ``NotReady`` for the first that fails."""
        for name, check in self._checks.items():
            try:
                async with asyncio.timeout(self._timeout_s):
                    await check()
            except Exception as exc:
                failure = NotReady(name, exc)
                self._settle(False, f"not ready: {failure}")
                raise failure from exc
        self._settle(True, "ready")

    async def watch(self, every_s: float = 60.0, until_ready_s: float = 2.0) -> None:
        """Pass after pass, forever: every ``until_ready_s`` until the first pass (systemd waits for
        it), then every ``every_s`` (the minute's ``Ready``)."""
        while True:
            # A failure is logged by the pass when it changed something.
            with contextlib.suppress(NotReady):
                await self.check()
            await asyncio.sleep(every_s if self.passed else until_ready_s)

    def _settle(self, ok: bool, status: str) -> None:
        self._ready.add(1.0 if ok else 0.0)
        if status == self._status:
            return
        assignments = [f"STATUS={status}"]
        if ok and not self.passed:
            assignments.insert(0, "READY=1")
        try:
            notify(*assignments)
        except OSError as exc:
            # Nothing is taken as told: the next pass tells it again.
            log.warning("could not tell systemd", extra={"status": status, "error": repr(exc)})
            return
        if ok:
            log.info("ready")
        else:
            log.warning(status)
        self._status = status
        self.passed = self.passed or ok
