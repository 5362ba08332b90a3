"""The real ingest behind a gateway of a test module's own: started as a process, with its own queue
and spool, so that what an upload leaves behind is real and is that module's alone."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from anb_common.aws import Aws
from anb_devstack.moto import free_port
from gateway.conftest import Gateway, own_gateway


async def queue_of_its_own(aws: Aws, prefix: str) -> str:
    """A queue of a test module's own, so that the jobs its uploads enqueue reach no other consumer."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    async with aws.sqs() as sqs:
        await sqs.create_queue(QueueName=name)
    return name


def start_ingest(env: dict[str, str], log: Path) -> Gateway:
    """The real ingest as a uvicorn process, once it answers its health check."""
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "--loop", "uvloop", "--host", "127.0.0.1",
        "--port", str(port), "anb_ingest.app:create_app",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(url + "/internal/health", timeout=2).status_code == 200:
                return Gateway(url, process, log)
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"ingest did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def stop_ingest(ingest: Gateway) -> None:
    ingest.process.terminate()
    ingest.process.wait(timeout=30)


def real_ingest_env(gateway_env: dict[str, str], queue: str, spool: Path) -> dict[str, str]:
    """The contract's default limits (the shared gateway runs with small ones to test them), its own
    queue and spool."""
    env = {key: value for key, value in gateway_env.items() if not key.startswith("ANB_UPLOAD_")}
    return env | {"ANB_AWS_QUEUE_NAME": queue, "ANB_INGEST_TEMP_DIR": str(spool)}


@contextmanager
def gateway_over_real_ingest(
    gateway_env: dict[str, str],
    queue: str,
    folder: Path,
    name: str,
    *,
    ingest_settings: dict[str, str] | None = None,
    gateway_settings: dict[str, str] | None = None,
) -> Iterator[tuple[Gateway, Gateway]]:
    """A gateway of its own in front of the real ingest (spool ``<name>-spool`` and logs in ``folder``),
    both stopped when the block ends."""
    env = real_ingest_env(gateway_env, queue, folder / f"{name}-spool")
    ingest = start_ingest(env | (ingest_settings or {}), folder / f"{name}-ingest.log")
    try:
        settings = {"ANB_INGEST_URL": ingest.url} | (gateway_settings or {})
        with own_gateway(env | settings, folder / f"{name}-gateway.log") as gateway:
            yield gateway, ingest
    finally:
        stop_ingest(ingest)
