"""Scale-in protection: the auto scaling group must not terminate an instance in the middle of a job.

While at least one job runs, this instance is protected (``SetInstanceProtection``); when the last
job ends the protection is lifted, so the group can scale in an idle worker. The instance id comes
from IMDSv2 and the group from ``DescribeAutoScalingInstances`` (IAM: ``autoscaling:
SetInstanceProtection`` and ``autoscaling:DescribeAutoScalingInstances``). A failing call is logged
and the job goes on: without protection a scale-in at worst hands the job back via SQS.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.request
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from anb_common.aws import Aws
from anb_transcoder.failures import log_failure

if TYPE_CHECKING:
    from types_aiobotocore_autoscaling import AutoScalingClient

log = logging.getLogger(__name__)

# IMDS answers in microseconds on an instance; a short timeout turns "not on EC2" into a quick error.
_IMDS_TIMEOUT_S = 2.0
_TOKEN_TTL_S = 60


def instance_id(imds_url: str) -> str:
    """This instance's id through IMDSv2 (token first: IMDSv1 is disabled on our launch template)."""
    token_request = urllib.request.Request(  # noqa: S310 - the configured IMDS address
        f"{imds_url}/latest/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": str(_TOKEN_TTL_S)},
    )
    with urllib.request.urlopen(token_request, timeout=_IMDS_TIMEOUT_S) as response:  # noqa: S310
        token = response.read().decode()
    id_request = urllib.request.Request(  # noqa: S310
        f"{imds_url}/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token}
    )
    with urllib.request.urlopen(id_request, timeout=_IMDS_TIMEOUT_S) as response:  # noqa: S310
        return str(response.read().decode().strip())


class ScaleInProtection:
    def __init__(self, aws: Aws, imds_url: str) -> None:
        self._aws = aws
        self._imds_url = imds_url
        self._stack = AsyncExitStack()
        self._client: AutoScalingClient | None = None
        self._instance = ""
        self._group = ""
        self._running = 0
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> ScaleInProtection:
        self._instance = await asyncio.to_thread(instance_id, self._imds_url)
        client = await self._stack.enter_async_context(self._aws.autoscaling())
        try:
            found = await client.describe_auto_scaling_instances(InstanceIds=[self._instance])
            groups = [item["AutoScalingGroupName"] for item in found.get("AutoScalingInstances", [])]
            if not groups:
                raise RuntimeError(f"instance {self._instance} is in no auto scaling group")
        except BaseException:
            await self._stack.aclose()  # __aexit__ does not run when __aenter__ raises
            raise
        self._client, self._group = client, groups[0]
        log.info("scale-in protection enabled", extra={"instance": self._instance, "group": self._group})
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Protected from the first running job until the last one ends."""
        async with self._lock:
            self._running += 1
            if self._running == 1:
                await self._set(True)
        try:
            yield
        finally:
            async with self._lock:
                self._running -= 1
                if self._running == 0:
                    await self._set(False)

    async def _set(self, protected: bool) -> None:
        assert self._client is not None, "held() outside 'async with ScaleInProtection'"
        try:
            await self._client.set_instance_protection(
                InstanceIds=[self._instance],
                AutoScalingGroupName=self._group,
                ProtectedFromScaleIn=protected,
            )
        except Exception as exc:
            log_failure(log, "could not change scale-in protection", exc, protected=protected)
