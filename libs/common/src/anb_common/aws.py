"""One place that builds aioboto3 clients: moto locally, real AWS when no endpoint is configured."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, cast

import aioboto3
from botocore.config import Config

from anb_common.settings import AwsSettings

if TYPE_CHECKING:
    from types_aiobotocore_autoscaling import AutoScalingClient
    from types_aiobotocore_cloudwatch import CloudWatchClient
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_sqs import SQSClient


class Aws:
    """Holds one aioboto3 session; hands out S3, SQS and Auto Scaling client context managers."""

    def __init__(self, settings: AwsSettings) -> None:
        self.settings = settings
        credentials: dict[str, str] = {}
        if settings.access_key_id and settings.secret_access_key:
            credentials = {
                "aws_access_key_id": settings.access_key_id.get_secret_value(),
                "aws_secret_access_key": settings.secret_access_key.get_secret_value(),
            }
        self._session = aioboto3.Session(region_name=settings.region, **credentials)
        self._config = Config(
            connect_timeout=settings.connect_timeout_s,
            read_timeout=settings.read_timeout_s,
            # Adaptive mode backs off on throttling (SlowDown, RequestThrottled) as well as on 5xx,
            # which is what an S3 prefix under upload bursts needs; callers see only persistent errors.
            retries={"max_attempts": settings.max_attempts, "mode": "adaptive"},
            # Parts of uploads run concurrently per request; the default pool of 10 would queue them.
            max_pool_connections=50,
            # Bodies are not hashed into the signature: over HTTPS that is S3's default (TLS and the
            # CRC32 checksum guard the bytes), and over http (moto) it would be a SHA-256 pass over
            # every part that production never pays.
            s3={"addressing_style": "path", "payload_signing_enabled": False},
            signature_version="s3v4",
        )

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"config": self._config}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        return kwargs

    def s3(self) -> AbstractAsyncContextManager[S3Client]:
        """An S3 client context manager: ``async with aws.s3() as s3``."""
        return cast("AbstractAsyncContextManager[S3Client]", self._session.client("s3", **self._kwargs()))

    def s3_streaming(self) -> AbstractAsyncContextManager[S3Client]:
        """An S3 client for bodies sent while they are still arriving (a resumable upload's part as
        its PATCH comes in), which botocore can neither read twice nor rewind.

        Over HTTPS botocore sends such a body's CRC32 after it (an aws-chunked trailer), and S3
        checks it. Over plain http (moto) it would instead read the whole body for a header first,
        so no checksum is asked for there. No retries: a retry would resend a body already consumed;
        the caller sends a failed part again from its file, through ``s3``."""
        streaming = self._config.merge(
            Config(
                request_checksum_calculation="when_supported" if self._https else "when_required",
                retries={"max_attempts": 1},
            )
        )
        return cast(
            "AbstractAsyncContextManager[S3Client]",
            self._session.client("s3", **(self._kwargs() | {"config": streaming})),
        )

    @property
    def _https(self) -> bool:
        """Whether S3 is reached over TLS (always, without an endpoint: real AWS)."""
        endpoint = self.settings.endpoint_url
        return not endpoint or endpoint.startswith("https://")

    def sqs(self) -> AbstractAsyncContextManager[SQSClient]:
        """An SQS client context manager: ``async with aws.sqs() as sqs``."""
        return cast("AbstractAsyncContextManager[SQSClient]", self._session.client("sqs", **self._kwargs()))

    def autoscaling(self) -> AbstractAsyncContextManager[AutoScalingClient]:
        """An Auto Scaling client context manager (scale-in protection of the worker's instance)."""
        return cast(
            "AbstractAsyncContextManager[AutoScalingClient]",
            self._session.client("autoscaling", **self._kwargs()),
        )

    def cloudwatch(self) -> AbstractAsyncContextManager[CloudWatchClient]:
        """A CloudWatch client context manager (the ANB/Video metrics)."""
        return cast(
            "AbstractAsyncContextManager[CloudWatchClient]",
            self._session.client("cloudwatch", **self._kwargs()),
        )

    def public_s3(self) -> AbstractAsyncContextManager[S3Client]:
        """An S3 client whose presigned links use the address clients reach storage by."""
        kwargs = self._kwargs()
        if self.settings.public_endpoint_url:
            kwargs["endpoint_url"] = self.settings.public_endpoint_url
        return cast("AbstractAsyncContextManager[S3Client]", self._session.client("s3", **kwargs))


async def queue_url(sqs: SQSClient, name: str) -> str:
    response = await sqs.get_queue_url(QueueName=name)
    return response["QueueUrl"]
