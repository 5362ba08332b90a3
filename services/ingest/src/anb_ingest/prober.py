"""Probing an upload in a child process: FFmpeg reads what the internet sent in a process that cannot
grow past its memory budget nor outlive its time, and never in the process that serves requests
(which does not even load PyAV). Other decoding work runs in the same bounded children (``run``:
the owner's poster pick, ``posters``).

Children are forked from multiprocessing's fork server, started with ingest and with PyAV already
imported, so a probe starts in milliseconds. A child lowers its own address-space limit (soft and
hard) to what it starts with plus ``probe_memory_bytes``, probes and checks the file, sends back the
facts or the rule broken as JSON (never a pickle: the child is the process that touched the file)
and exits; past ``probe_timeout_s`` it is killed. At most ``probe_workers`` run at once, so that
ingest's memory stays bounded whatever is uploaded; waiting for them takes no thread, so the spool's
writes (which run in threads) never queue behind a probe.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import resource
import signal
from collections.abc import Callable
from fractions import Fraction
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgspec

from anb_common.media import MediaFacts, MediaRejected, check
from anb_common.reasons import Reason, UploadRule
from anb_common.settings import UploadLimits
from anb_ingest.errors import DependencyUnavailable, UploadRejected
from anb_ingest.settings import IngestOptions

log = logging.getLogger(__name__)

# A child that ends without an answer gets this long to be reaped before it is killed.
_EXIT_GRACE_S = 5.0


class ChildFailed(Exception):
    """A child ran past its time, or ended without an answer (its work raised, hit the memory budget,
    or FFmpeg crashed)."""


class _Answer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    facts: MediaFacts | None = None
    reason: Reason | None = None
    detail: str = ""


def _enc_hook(value: Any) -> Any:
    if isinstance(value, Fraction):
        return str(value)
    raise NotImplementedError(type(value))


def _dec_hook(kind: type, value: Any) -> Any:
    if kind is Fraction and isinstance(value, str):
        return Fraction(value)
    raise NotImplementedError(kind)


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
_decoder = msgspec.json.Decoder(_Answer, dec_hook=_dec_hook)


class Prober:
    def __init__(self, limits: UploadLimits, options: IngestOptions) -> None:
        self._limits = limits
        self._memory_bytes = options.probe_memory_bytes
        self._timeout_s = options.probe_timeout_s
        self._slots = asyncio.Semaphore(options.probe_workers)
        self._context = multiprocessing.get_context("forkserver")

    def start(self) -> None:
        """Start the fork server and wait until it forks (blocking: run it off the event loop).

        "__main__" is preloaded too, so that children do not each import the program's main script.
        """
        self._context.set_forkserver_preload(
            ["__main__", __name__, "anb_common.media.probing", "anb_common.media.stills"]
        )
        forkserver.ensure_running()
        child = self._context.Process(target=_ready, name="anb-probe-warmup", daemon=True)
        child.start()
        child.join()

    async def probe(self, path: Path, *, duration_known: bool = True) -> MediaFacts:
        """The facts of the local video ``path`` once it passes every media rule; ``UploadRejected``
        otherwise (also when it would take more memory or time than a probe may).

        ``duration_known=False`` for the first bytes of a resumable upload whose container does not
        state the clip's duration: the duration rule waits for the whole file."""
        limits = self._limits
        if not duration_known:
            limits = limits.model_copy(update={"min_duration_s": 0.0, "max_duration_s": math.inf})
        async with self._slots:
            answer = await self._run(path, limits)
        if answer.facts is not None:
            return answer.facts
        reason = answer.reason or Reason(UploadRule.UNDECODABLE)
        raise UploadRejected(reason.code, answer.detail, **reason.values)

    async def _run(self, path: Path, limits: UploadLimits) -> _Answer:
        try:
            return _decoder.decode(await self._child(_judged, (path, limits), "anb-probe"))
        except ChildFailed as failed:
            return _Answer(detail=str(failed))

    async def run(self, work: Callable[..., bytes], *args: Any, name: str) -> bytes:
        """``work(*args)`` in a child under the probes' bounds: the memory budget and the time limit,
        and at most ``probe_workers`` children at once, probes included. Returns what ``work``
        returns; ``ChildFailed`` when the child ran past its time or died without answering,
        ``DependencyUnavailable`` when no process could be made. ``work`` and ``args`` reach the
        child pickled (a module-level function: the fork server imports its module)."""
        async with self._slots:
            return await self._child(work, args, name)

    async def _child(self, work: Callable[..., bytes], args: tuple[Any, ...], name: str) -> bytes:
        receiver, sender = self._context.Pipe(duplex=False)
        child = self._context.Process(
            target=_in_child,
            args=(sender, work, args, self._memory_bytes, self._timeout_s),
            name=name,
            daemon=True,
        )
        try:
            try:
                child.start()
            except OSError as exc:
                # No process could be made (tasks or memory exhausted): nothing was done; try later.
                raise DependencyUnavailable(f"cannot start a {name} process: {exc!r}") from exc
            finally:
                sender.close()
            try:
                async with asyncio.timeout(self._timeout_s):
                    await _readable(receiver.fileno())
            except TimeoutError:
                log.warning(
                    "child ran past its time; killed", extra={"child": name, "timeout_s": self._timeout_s}
                )
                raise ChildFailed(f"The {name} process ran past {self._timeout_s:g} s.") from None
            return _received(receiver, child, name)
        finally:
            receiver.close()
            await _reap(child)


def _received(receiver: Connection, child: multiprocessing.process.BaseProcess, name: str) -> bytes:
    # uvloop's add_reader left the pipe non-blocking: an answer larger than the pipe's buffer (a
    # poster, up to 100 KB) would end the read early (EAGAIN). The child is writing the rest now.
    os.set_blocking(receiver.fileno(), True)
    try:
        return receiver.recv_bytes()
    except EOFError:
        # The child died without answering: killed for memory, or FFmpeg crashed on the file.
        child.join(_EXIT_GRACE_S)
        log.warning("child ended without an answer", extra={"child": name, "exit_code": child.exitcode})
        raise ChildFailed(
            f"The {name} process ended without an answer (exit code {child.exitcode})."
        ) from None


async def _reap(child: multiprocessing.process.BaseProcess) -> None:
    """Wait for ``child`` to end, killing it if it does not (it may be stuck, or past its time)."""
    if child.exitcode is None:
        try:
            async with asyncio.timeout(_EXIT_GRACE_S):
                await _readable(child.sentinel)
        except TimeoutError:
            child.kill()
    child.join()
    child.close()


async def _readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _ready() -> None:
    """The warm-up child: it proves the fork server forks, with PyAV imported."""


def _in_child(
    sender: Connection,
    work: Callable[..., bytes],
    args: tuple[Any, ...],
    memory_bytes: int,
    timeout_s: float,
) -> None:
    # Should the parent be gone, the kernel still ends this process (SIGALRM's default action).
    signal.alarm(math.ceil(timeout_s) + 1)
    _limit_address_space(memory_bytes)
    sender.send_bytes(work(*args))


def _judged(path: Path, limits: UploadLimits) -> bytes:
    """A probe's work: the verdict on ``path`` as JSON (never a pickle: this process touched the file)."""
    return _encoder.encode(_judge(path, limits))


def _judge(path: Path, limits: UploadLimits) -> _Answer:
    # Already imported by the fork server; importing it here keeps PyAV out of the parent.
    from anb_common.media.probing import probe

    try:
        facts = probe(path, limits)
        check(facts, limits)
    except MediaRejected as exc:
        return _Answer(reason=exc.reason, detail=exc.detail)
    except MemoryError:
        return _Answer(detail="Reading the file needs more memory than a probe may use.")
    return _Answer(facts=facts)


def _limit_address_space(extra_bytes: int) -> None:
    """Limit this process to the address space it has now plus ``extra_bytes``, for good: the hard
    limit too, so that nothing running here later can raise it again."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    limit = pages * resource.getpagesize() + extra_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
