"""Both templates create a complete stack against a real moto server, in each scaling mode.

moto builds the VPC, subnets, security groups, bucket, queues, RDS instance, IAM, launch templates,
groups and the load balancer; it skips scaling policies, alarms and Secrets Manager secrets silently
(and applies only encryption to the bucket), which test_templates.py covers from the parsed YAML.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import boto3
import pytest

from .support import DEPLOY


def _client(service: str, moto_url: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _create(cfn: Any, name: str, template: str, parameters: dict[str, str]) -> dict[str, str]:
    cfn.create_stack(
        StackName=name,
        TemplateBody=(DEPLOY / "cloudformation" / template).read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


# One region per mode: queue names are fixed by the template, and the session's moto server is shared
# with other tests that live in us-east-1.
MODES = {"step": "eu-west-1", "target-tracking": "eu-west-2"}


@pytest.fixture(scope="module", params=sorted(MODES))
def stack(request: pytest.FixtureRequest, moto_url: str) -> dict[str, Any]:
    mode: str = request.param
    region = MODES[mode]
    cfn = _client("cloudformation", moto_url, region)
    artifacts = f"anb-artifacts-{uuid.uuid4().hex[:8]}"
    _client("s3", moto_url, region).create_bucket(
        Bucket=artifacts, CreateBucketConfiguration={"LocationConstraint": region}
    )
    _create(cfn, "anb-network", "network.yaml", {})
    outputs = _create(
        cfn,
        "anb",
        "platform.yaml",
        {
            "ArtifactBucket": artifacts,
            "ReleaseVersion": "test-1",
            "VideoBucketName": f"anb-video-{uuid.uuid4().hex[:8]}",
            "ScalingMode": mode,
            # moto knows Amazon Linux's public AMI parameters only, not Debian's (the default).
            "AmiId": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
        },
    )
    # No teardown: moto refuses to delete a VPC its own stack still references, and the server goes
    # away with the test session.
    return {"region": region, "outputs": outputs, "moto_url": moto_url, "mode": mode}


def test_queues_have_the_redrive_and_timings(stack: dict[str, Any]) -> None:
    sqs = _client("sqs", stack["moto_url"], stack["region"])
    queue = sqs.get_queue_attributes(QueueUrl=stack["outputs"]["ProcessingQueueUrl"], AttributeNames=["All"])
    attributes = queue["Attributes"]
    assert attributes["VisibilityTimeout"] == "300"
    assert attributes["MessageRetentionPeriod"] == "345600"
    assert attributes["ReceiveMessageWaitTimeSeconds"] == "20"
    assert attributes["MaximumMessageSize"] == "262144"
    assert '"maxReceiveCount": 3' in attributes["RedrivePolicy"].replace('"3"', "3")
    dlq = sqs.get_queue_attributes(QueueUrl=stack["outputs"]["DeadLetterQueueUrl"], AttributeNames=["All"])
    assert dlq["Attributes"]["MessageRetentionPeriod"] == "1209600"
    assert dlq["Attributes"]["QueueArn"] in attributes["RedrivePolicy"]


def test_bucket_exists_encrypted(stack: dict[str, Any]) -> None:
    # moto's CloudFormation applies only encryption and tags to a bucket; the public access block and
    # the lifecycle rule are asserted on the parsed template (test_templates.py).
    s3 = _client("s3", stack["moto_url"], stack["region"])
    bucket = stack["outputs"]["VideoBucketName"]
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_groups_span_both_azs_with_their_sizes(stack: dict[str, Any]) -> None:
    autoscaling = _client("autoscaling", stack["moto_url"], stack["region"])
    ec2 = _client("ec2", stack["moto_url"], stack["region"])
    outputs = stack["outputs"]
    groups = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[outputs["WebGroupName"], outputs["WorkerGroupName"]]
    )["AutoScalingGroups"]
    assert {g["AutoScalingGroupName"] for g in groups} == {"anb-web", "anb-transcoders"}
    for group in groups:
        assert (group["MinSize"], group["MaxSize"]) == (1, 3)
        subnets = ec2.describe_subnets(SubnetIds=group["VPCZoneIdentifier"].split(","))["Subnets"]
        assert len({s["AvailabilityZone"] for s in subnets}) == 2
        assert not any(s["MapPublicIpOnLaunch"] for s in subnets)
    templates = ec2.describe_launch_templates()["LaunchTemplates"]
    types = set()
    for template in templates:
        version = ec2.describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])
        data = version["LaunchTemplateVersions"][0]["LaunchTemplateData"]
        types.add(data["InstanceType"])
        user_data = base64.b64decode(data["UserData"]).decode()
        assert "ANB_RELEASE_URI=s3://anb-artifacts-" in user_data
        assert "/releases/test-1" in user_data
        assert user_data.rstrip().splitlines()[-1] in {
            "exec bash /opt/anb/bootstrap/web.sh",
            "exec bash /opt/anb/bootstrap/transcoder.sh",
        }
    assert types == {"t3.micro", "t3.medium"}


def test_load_balancer_checks_the_gateway_health(stack: dict[str, Any]) -> None:
    elb = _client("elbv2", stack["moto_url"], stack["region"])
    (group,) = elb.describe_target_groups()["TargetGroups"]
    assert (group["HealthCheckPath"], group["Port"]) == ("/api/health", 8000)
    (balancer,) = elb.describe_load_balancers()["LoadBalancers"]
    assert balancer["Scheme"] == "internet-facing"
    assert len(balancer["AvailabilityZones"]) == 2
    listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    # No certificate given: plain HTTP forwarding to the gateway, no HTTPS listener.
    assert [(listener["Port"], listener["DefaultActions"][0]["Type"]) for listener in listeners] == [
        (80, "forward")
    ]


def test_database_is_multi_az(stack: dict[str, Any]) -> None:
    rds = _client("rds", stack["moto_url"], stack["region"])
    (db,) = rds.describe_db_instances()["DBInstances"]
    assert db["MultiAZ"] is True
    assert db["StorageEncrypted"] is True
    assert db["Engine"] == "postgres"
    assert db["PubliclyAccessible"] is False
