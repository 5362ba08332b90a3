"""The processing queue and its dead-letter queue, as the worker uses them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from anb_common.aws import queue_url
from anb_common.messages import REQUEST_ID_ATTRIBUTE

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

# SQS's own default when a queue has no redrive policy: we then never see a "last" receive.
_NO_REDRIVE = 1_000_000


@dataclass(frozen=True)
class Received:
    body: str
    receipt: str
    message_id: str
    receive_count: int
    sent_at: float | None = None
    """When it was first sent (SQS's SentTimestamp, seconds since the epoch)."""
    request_id: str | None = None
    """The upload request that made the job (its message attribute), when it has one."""


class JobQueue:
    """One queue's URL plus the calls the worker makes on it."""

    def __init__(self, sqs: SQSClient, url: str, dlq_url: str, max_receive_count: int) -> None:
        self.sqs = sqs
        self.url = url
        self.dlq_url = dlq_url
        self.max_receive_count = max_receive_count

    @classmethod
    async def open(cls, sqs: SQSClient, name: str, dlq_name: str) -> JobQueue:
        url = await queue_url(sqs, name)
        dlq = await queue_url(sqs, dlq_name)
        attributes = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]))[
            "Attributes"
        ]
        policy = attributes.get("RedrivePolicy")
        max_receive = int(json.loads(policy)["maxReceiveCount"]) if policy else _NO_REDRIVE
        return cls(sqs, url, dlq, max_receive)

    async def receive(self, url: str, count: int, wait_s: int, visibility_s: int) -> list[Received]:
        response = await self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=wait_s,
            VisibilityTimeout=visibility_s,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            MessageAttributeNames=[REQUEST_ID_ATTRIBUTE],
        )
        received = []
        for message in response.get("Messages", []):
            system = message.get("Attributes", {})
            sent_ms = system.get("SentTimestamp")
            request = message.get("MessageAttributes", {}).get(REQUEST_ID_ATTRIBUTE)
            received.append(
                Received(
                    body=message.get("Body", ""),
                    receipt=message["ReceiptHandle"],
                    message_id=message["MessageId"],
                    receive_count=int(system.get("ApproximateReceiveCount", "1")),
                    sent_at=int(sent_ms) / 1000 if sent_ms else None,
                    request_id=request.get("StringValue") if request else None,
                )
            )
        return received

    async def ping(self) -> None:
        """Raise unless the queue answers (GetQueueAttributes, which the worker's role may call)."""
        await self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])

    async def hide(self, url: str, receipt: str, seconds: int) -> None:
        """Set the message's visibility from now: a heartbeat, a retry delay, or 0 to hand it back."""
        await self.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=seconds
        )

    async def delete(self, url: str, receipt: str) -> None:
        await self.sqs.delete_message(QueueUrl=url, ReceiptHandle=receipt)

    async def dead_letter(self, message: Received, reason: str) -> None:
        """Move a message to the DLQ now (send, then delete): a copy may survive a crash, never a loss."""
        await self.sqs.send_message(
            QueueUrl=self.dlq_url,
            MessageBody=message.body or "(empty)",
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000]}},
        )
        await self.delete(self.url, message.receipt)
