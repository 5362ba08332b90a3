"""Create what the platform expects to find in S3 and SQS: in production CloudFormation does this."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from anb_common.aws import Aws
from anb_common.keys import PROCESSED_PREFIX, RESOURCES_PREFIX, UPLOADS_PREFIX

# The values of the production queue (deploy/), so that local behaviour matches AWS.
VISIBILITY_TIMEOUT_S = 300
RETENTION_S = 4 * 24 * 3600
DLQ_RETENTION_S = 14 * 24 * 3600
RECEIVE_WAIT_S = 20
MAX_MESSAGE_BYTES = 256 * 1024
MAX_RECEIVE_COUNT = 3


async def provision(aws: Aws, brand_assets: Iterable[tuple[str, Path]] = ()) -> None:
    settings = aws.settings
    async with aws.s3() as s3:
        await s3.create_bucket(Bucket=settings.bucket)
        # S3 has no folders; zero-byte markers make the layout visible in consoles and listings.
        for prefix in (UPLOADS_PREFIX, PROCESSED_PREFIX, RESOURCES_PREFIX):
            await s3.put_object(Bucket=settings.bucket, Key=prefix, Body=b"")
        for key, path in brand_assets:
            await s3.put_object(
                Bucket=settings.bucket, Key=key, Body=path.read_bytes(), ContentType="image/png"
            )
    async with aws.sqs() as sqs:
        dlq = await sqs.create_queue(
            QueueName=settings.dlq_name, Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_S)}
        )
        dlq_arn = (await sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"]))[
            "Attributes"
        ]["QueueArn"]
        await sqs.create_queue(
            QueueName=settings.queue_name,
            Attributes={
                "VisibilityTimeout": str(VISIBILITY_TIMEOUT_S),
                "MessageRetentionPeriod": str(RETENTION_S),
                "ReceiveMessageWaitTimeSeconds": str(RECEIVE_WAIT_S),
                "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
                ),
            },
        )
