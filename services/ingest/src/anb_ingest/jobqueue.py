"""Where job messages are published: the interface the outbox needs, and SQS behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from anb_common import messages
from anb_common.aws import queue_url

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient


class JobQueue(Protocol):
    async def send(self, body: str, request_id: str | None) -> None:
        """Publish a job; ``request_id`` (the upload request's) travels as a message attribute."""


class SqsJobQueue:
    def __init__(self, client: SQSClient, queue_name: str) -> None:
        self._client = client
        self._queue_name = queue_name
        self._url: str | None = None

    async def send(self, body: str, request_id: str | None) -> None:
        # Resolved on first use, not at start-up: ingest must start (and accept uploads) while SQS is down.
        if self._url is None:
            self._url = await queue_url(self._client, self._queue_name)
        await self._client.send_message(
            QueueUrl=self._url,
            MessageBody=body,
            MessageAttributes=messages.attributes(request_id),  # type: ignore[arg-type]  # a plain dict
        )
