"""Transcoder worker entry point (``anb-transcoder`` / ``python -m anb_transcoder``)."""

from __future__ import annotations

import asyncio
import logging
import signal

from anb_common import logs

log = logging.getLogger("anb_transcoder")


async def _run() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker started")
    await stop.wait()
    log.info("worker stopped")


def main() -> None:
    logs.configure("transcoder")
    asyncio.run(_run())


if __name__ == "__main__":
    main()
