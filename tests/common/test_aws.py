"""S3 and SQS through the common client factory, against a real moto server."""

from __future__ import annotations

import json

from anb_common.aws import Aws, queue_url
from anb_common.messages import JobMessage, decode, encode


async def test_bucket_layout_is_in_place(aws: Aws) -> None:
    async with aws.s3() as s3:
        listing = await s3.list_objects_v2(Bucket=aws.settings.bucket)
    keys = {item["Key"] for item in listing.get("Contents", [])}
    assert {"uploads/", "processed/", "resources/"} <= keys


async def test_queue_has_its_attributes_and_redrive_policy(aws: Aws) -> None:
    async with aws.sqs() as sqs:
        url = await queue_url(sqs, aws.settings.queue_name)
        dlq_url = await queue_url(sqs, aws.settings.dlq_name)
        attributes = (await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))["Attributes"]
        dlq_arn = (await sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"]))[
            "Attributes"
        ]["QueueArn"]
    assert attributes["VisibilityTimeout"] == "300"
    assert attributes["ReceiveMessageWaitTimeSeconds"] == "20"
    assert attributes["MessageRetentionPeriod"] == str(4 * 24 * 3600)
    assert attributes["MaximumMessageSize"] == str(256 * 1024)
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert int(redrive["maxReceiveCount"]) == 3


async def test_a_job_message_travels_through_sqs(aws: Aws) -> None:
    import uuid

    video_id = uuid.uuid4()
    message = JobMessage.for_upload(video_id, f"uploads/{video_id}.mp4")
    async with aws.sqs() as sqs:
        # A queue of its own, so that workers tested elsewhere in the session never see this message.
        url = (await sqs.create_queue(QueueName=f"roundtrip-{video_id.hex[:8]}"))["QueueUrl"]
        await sqs.send_message(QueueUrl=url, MessageBody=encode(message))
        received = await sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
        await sqs.delete_queue(QueueUrl=url)
    assert decode(received["Messages"][0]["Body"]) == message


async def test_s3_round_trip(aws: Aws) -> None:
    async with aws.s3() as s3:
        await s3.put_object(Bucket=aws.settings.bucket, Key="resources/probe.txt", Body=b"hello")
        body = await (await s3.get_object(Bucket=aws.settings.bucket, Key="resources/probe.txt"))[
            "Body"
        ].read()
        await s3.delete_object(Bucket=aws.settings.bucket, Key="resources/probe.txt")
    assert body == b"hello"
