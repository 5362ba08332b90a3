"""Both templates create a complete stack against a real moto server, in each scaling mode (and each
listener setup: the step stack has a certificate, the target-tracking one serves plain HTTP).

moto builds the VPC, subnets, security groups, bucket, queues, RDS instance, IAM, launch templates,
groups, the load balancer, the dashboard and the log groups; it skips scaling policies, alarms and
Secrets Manager secrets silently (and applies only encryption to the bucket), which
test_templates.py covers from the parsed YAML.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import boto3
import pytest

from .support import DEPLOY, load_template


def _client(service: str, moto_url: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


# moto resolves an SSM-typed parameter's default even when a value is given, and knows only Amazon
# Linux's public parameters: the stack is created here with one of those in place of the AMI's.
MOTO_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def _template_body(template: str) -> str:
    text = (DEPLOY / "cloudformation" / template).read_text()
    ami = load_template(template)["Parameters"].get("AmiId", {}).get("Default")
    return text.replace(ami, MOTO_AMI_PARAMETER) if ami else text


def _create(cfn: Any, name: str, template: str, parameters: dict[str, str]) -> dict[str, str]:
    cfn.create_stack(
        StackName=name,
        TemplateBody=_template_body(template),
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
    network = _create(cfn, "anb-network", "network.yaml", {})
    if mode == "step":
        acm = _client("acm", moto_url, region)
        tls = {"CertificateArn": acm.request_certificate(DomainName="anb.example.com")["CertificateArn"]}
    else:
        tls = {"AllowPlainHttp": "true"}
    outputs = _create(
        cfn,
        "anb",
        "platform.yaml",
        {"ArtifactBucket": artifacts, "ReleaseVersion": "test-1", "ScalingMode": mode, **tls},
    )
    # No teardown: moto refuses to delete a VPC its own stack still references, and the server goes
    # away with the test session.
    return {"region": region, "outputs": outputs, "network": network, "moto_url": moto_url, "mode": mode}


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


def test_bucket_exists_encrypted_with_a_name_derived_from_the_stack(stack: dict[str, Any]) -> None:
    # moto's CloudFormation applies only encryption and tags to a bucket; the public access block and
    # the lifecycle rule are asserted on the parsed template (test_templates.py).
    s3 = _client("s3", stack["moto_url"], stack["region"])
    bucket = stack["outputs"]["VideoBucketName"]
    account = _client("sts", stack["moto_url"], stack["region"]).get_caller_identity()["Account"]
    assert bucket == f"anb-videos-{account}-{stack['region']}"
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


def test_load_balancer_checks_liveness_and_redirects_to_https(stack: dict[str, Any]) -> None:
    elb = _client("elbv2", stack["moto_url"], stack["region"])
    (group,) = elb.describe_target_groups()["TargetGroups"]
    assert (group["HealthCheckPath"], group["Port"]) == ("/api/live", 8000)
    (balancer,) = elb.describe_load_balancers()["LoadBalancers"]
    assert balancer["Scheme"] == "internet-facing"
    assert len(balancer["AvailabilityZones"]) == 2
    listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    actions = sorted((listener["Port"], listener["DefaultActions"][0]["Type"]) for listener in listeners)
    if stack["mode"] == "step":
        # With a certificate: HTTP only redirects, HTTPS forwards to the gateways.
        assert actions == [(80, "redirect"), (443, "forward")]
    else:
        # AllowPlainHttp=true and no certificate: plain HTTP forwarding, no HTTPS listener.
        assert actions == [(80, "forward")]


def test_database_is_multi_az_postgres_16(stack: dict[str, Any]) -> None:
    rds = _client("rds", stack["moto_url"], stack["region"])
    (db,) = rds.describe_db_instances()["DBInstances"]
    assert db["MultiAZ"] is True
    assert db["StorageEncrypted"] is True
    assert (db["Engine"], db["EngineVersion"]) == ("postgres", "16")
    assert db["PubliclyAccessible"] is False


def test_log_groups_keep_their_retention(stack: dict[str, Any]) -> None:
    logs = _client("logs", stack["moto_url"], stack["region"])
    groups = logs.describe_log_groups(logGroupNamePrefix=stack["outputs"]["LogGroupPrefix"])["logGroups"]
    assert {(g["logGroupName"], g["retentionInDays"]) for g in groups} == {
        (f"/anb/anb/{name}", 30) for name in ("gateway", "ingest", "transcoder", "bootstrap")
    }


def test_dashboard_shows_the_queue_the_workers_and_the_web(stack: dict[str, Any]) -> None:
    cloudwatch = _client("cloudwatch", stack["moto_url"], stack["region"])
    dashboard = cloudwatch.get_dashboard(DashboardName=stack["outputs"]["DashboardName"])
    body = json.loads(dashboard["DashboardBody"])
    metrics = [m for widget in body["widgets"] for m in widget["properties"]["metrics"]]
    names = {(m[0], m[1]) for m in metrics if isinstance(m[0], str)}
    assert {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/AutoScaling", "GroupInServiceInstances"),
        ("ANB/Video", "JobsProcessed"),
        ("ANB/Video", "EndToEndTime"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
    } <= names
    queue = stack["outputs"]["ProcessingQueueUrl"].rsplit("/", 1)[1]
    assert ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue] in [m[:4] for m in metrics]
    assert all(widget["properties"]["region"] == stack["region"] for widget in body["widgets"])


def test_network_exports_the_load_balancer_subnets_as_trusted_proxies(stack: dict[str, Any]) -> None:
    assert stack["network"]["PublicSubnetCidrs"].split(",") == ["10.20.0.0/20", "10.20.16.0/20"]
