"""Transcoder worker entry point (``anb-transcoder`` / ``python -m anb_transcoder``)."""

from __future__ import annotations

import asyncio
import signal

import uvloop

from anb_common import logs
from anb_transcoder.settings import WorkerSettings
from anb_transcoder.worker import Worker


async def _run(settings: WorkerSettings) -> None:
    worker = Worker(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.request_stop)
    await worker.run()


def main() -> None:
    logs.configure("transcoder")
    uvloop.run(_run(WorkerSettings()))


if __name__ == "__main__":
    main()
