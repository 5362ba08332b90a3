"""The CloudFormation templates: cfn-lint clean, and what moto cannot check read from the parsed YAML
(moto silently skips scaling policies and alarms, so their thresholds are asserted here)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from anb_devstack.launcher import GATEWAY_KEEP_ALIVE_S

from .support import DEPLOY, TEMPLATES, UNITS


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def props(template: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][name]["Properties"]
    return properties


def statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in props(template, role).get("Policies", []):
        found.extend(policy["PolicyDocument"]["Statement"])
    for body in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role} in body["Properties"]["Roles"]:
            found.extend(body["Properties"]["PolicyDocument"]["Statement"])
    return found


def actions(template: dict[str, Any], role: str) -> set[str]:
    found: set[str] = set()
    for statement in statements(template, role):
        listed = statement["Action"]
        found.update([listed] if isinstance(listed, str) else listed)
    return found


def resources_of(template: dict[str, Any], role: str, action: str) -> list[Any]:
    found: list[Any] = []
    for statement in statements(template, role):
        listed = statement["Action"]
        if action in ([listed] if isinstance(listed, str) else listed):
            resource = statement["Resource"]
            found.extend(resource if isinstance(resource, list) else [resource])
    return found


def test_cfn_lint_exits_zero_on_every_template() -> None:
    # One run for all templates: cfn-lint spends its time loading its schemas, not linting.
    assert len(TEMPLATES) == 2
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    command = [str(cfn_lint), *map(str, TEMPLATES)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_network_spans_two_azs_with_public_and_private_subnets(network_template: dict[str, Any]) -> None:
    subnets = resources(network_template, "AWS::EC2::Subnet")
    assert set(subnets) == {"PublicSubnetA", "PublicSubnetB", "PrivateSubnetA", "PrivateSubnetB"}
    for name, body in subnets.items():
        zone = 0 if name.endswith("A") else 1
        assert body["Properties"]["AvailabilityZone"] == {"Fn::Select": [zone, {"Fn::GetAZs": ""}]}
    exported = {o["Export"]["Name"]["Fn::Sub"] for o in network_template["Outputs"].values()}
    assert {"${AWS::StackName}-PrivateSubnets", "${AWS::StackName}-PublicSubnets"} <= exported


def test_step_policies_are_the_original_thresholds(platform_template: dict[str, Any]) -> None:
    out, in_ = props(platform_template, "QueueScaleOutPolicy"), props(platform_template, "QueueScaleInPolicy")
    assert (out["PolicyType"], out["AdjustmentType"], out["ScalingAdjustment"], out["Cooldown"]) == (
        "SimpleScaling",
        "ChangeInCapacity",
        1,
        "300",
    )
    assert (in_["PolicyType"], in_["ScalingAdjustment"], in_["Cooldown"]) == ("SimpleScaling", -1, "600")
    high, low = props(platform_template, "QueueHighAlarm"), props(platform_template, "QueueLowAlarm")
    for alarm in (high, low):
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert alarm["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ProcessingQueue", "QueueName"]}}
        ]
        assert alarm["Period"] == 60
    # > 10 for 3 minutes; < 3 for 5 minutes.
    assert (high["ComparisonOperator"], high["Threshold"]) == ("GreaterThanThreshold", 10)
    assert high["EvaluationPeriods"] == high["DatapointsToAlarm"] == 3
    assert high["AlarmActions"] == [{"Ref": "QueueScaleOutPolicy"}]
    assert (low["ComparisonOperator"], low["Threshold"]) == ("LessThanThreshold", 3)
    assert low["EvaluationPeriods"] == low["DatapointsToAlarm"] == 5
    assert low["AlarmActions"] == [{"Ref": "QueueScaleInPolicy"}]
    for name in ("QueueScaleOutPolicy", "QueueScaleInPolicy", "QueueHighAlarm", "QueueLowAlarm"):
        assert platform_template["Resources"][name]["Condition"] == "IsStepScaling"


def _evaluate_metric_math(
    metrics: list[dict[str, Any]], values: dict[str, float], params: dict[str, float]
) -> float:
    """Evaluate the expressions in order, as CloudWatch does, for given metric values."""
    env = dict(values)
    returned: list[float] = []
    for metric in metrics:
        if "Expression" in metric:
            expression = metric["Expression"]
            if isinstance(expression, dict):
                expression = re.sub(r"\$\{(\w+)\}", lambda m: repr(params[m.group(1)]), expression["Fn::Sub"])
            assert re.fullmatch(r"[\w\s.*/+()-]+", expression), expression
            env[metric["Id"]] = float(eval(expression, {"__builtins__": {}}, env))
        if metric["ReturnData"]:
            returned.append(env[metric["Id"]])
    assert len(returned) == 1
    return returned[0]


def test_target_tracking_holds_backlog_per_instance_at_latency_over_mean(
    platform_template: dict[str, Any],
) -> None:
    body = platform_template["Resources"]["BacklogTargetTracking"]
    assert body["Condition"] == "IsTargetTracking"
    config = body["Properties"]["TargetTrackingConfiguration"]
    assert body["Properties"]["PolicyType"] == "TargetTrackingScaling"
    metrics = config["CustomizedMetricSpecification"]["Metrics"]
    stats = {m["Id"]: m["MetricStat"] for m in metrics if "MetricStat" in m}
    assert stats["visible"]["Metric"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert stats["visible"]["Metric"]["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["ProcessingQueue", "QueueName"]
    }
    assert stats["inservice"]["Metric"]["Namespace"] == "AWS/AutoScaling"
    assert stats["inservice"]["Metric"]["MetricName"] == "GroupInServiceInstances"
    # The denominator is only published when the group collects it.
    collected = props(platform_template, "WorkerGroup")["MetricsCollection"][0]["Metrics"]
    assert "GroupInServiceInstances" in collected

    parameters = platform_template["Parameters"]
    latency = float(parameters["AcceptableLatencySeconds"]["Default"])
    mean = float(parameters["MeanProcessingSeconds"]["Default"])
    params = {"AcceptableLatencySeconds": latency, "MeanProcessingSeconds": mean}
    target = config["TargetValue"]
    # Exactly at target when the backlog per instance is latency / mean, whatever the group size.
    for instances in (1.0, 2.0, 3.0):
        at_target = _evaluate_metric_math(
            metrics, {"visible": instances * latency / mean, "inservice": instances}, params
        )
        assert at_target == pytest.approx(target)
        above = _evaluate_metric_math(
            metrics, {"visible": 2 * instances * latency / mean, "inservice": instances}, params
        )
        assert above == pytest.approx(2 * target)


def test_queue_and_dead_letter_queue(platform_template: dict[str, Any]) -> None:
    queue = props(platform_template, "ProcessingQueue")
    assert queue["QueueName"] == "processing-queue"
    assert queue["VisibilityTimeout"] == 300
    assert queue["MessageRetentionPeriod"] == 4 * 24 * 3600
    assert queue["ReceiveMessageWaitTimeSeconds"] == 20
    assert queue["MaximumMessageSize"] == 256 * 1024
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        "maxReceiveCount": 3,
    }
    dlq = props(platform_template, "DeadLetterQueue")
    assert (dlq["QueueName"], dlq["MessageRetentionPeriod"]) == ("processing-queue-dlq", 14 * 24 * 3600)
    alarm = props(platform_template, "DeadLetterQueueAlarm")
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["Period"]) == (
        "GreaterThanThreshold",
        0,
        60,
    )
    assert alarm["AlarmActions"] == [{"Ref": "AlertsTopic"}]
    assert platform_template["Resources"]["AlertsTopic"]["Type"] == "AWS::SNS::Topic"


def test_bucket_is_private_encrypted_and_aborts_stale_multipart_uploads(
    platform_template: dict[str, Any],
) -> None:
    bucket = props(platform_template, "VideoBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert {"DaysAfterInitiation": 1} in [r.get("AbortIncompleteMultipartUpload") for r in rules]


def test_database_is_multi_az_and_its_password_comes_from_secrets_manager(
    platform_template: dict[str, Any],
) -> None:
    db = props(platform_template, "Database")
    assert db["MultiAZ"] is True
    assert db["StorageEncrypted"] is True
    assert db["PubliclyAccessible"] is False
    assert db["MasterUserPassword"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:password}}"
    }
    for name in ("JwtSecret", "InternalSecret", "DatabaseSecret"):
        assert "GenerateSecretString" in props(platform_template, name)
        assert "SecretString" not in props(platform_template, name)


def test_no_secret_value_is_written_in_any_template() -> None:
    for template in TEMPLATES:
        text = template.read_text()
        assert not re.search(r"(?im)^[ \t-]*\w*(password|secret)\w*:[ \t]*['\"]?[A-Za-z0-9+/]{16,}", text), (
            template.name
        )
        assert "ANB_JWT_SECRET=" not in text
        assert "ANB_INTERNAL_SECRET=" not in text


def test_groups_sizes_and_instance_types(platform_template: dict[str, Any]) -> None:
    parameters = platform_template["Parameters"]
    assert parameters["WebInstanceType"]["Default"] == "t3.micro"
    assert parameters["WorkerInstanceType"]["Default"] == "t3.medium"
    for group, prefix in (("WebGroup", "Web"), ("WorkerGroup", "Worker")):
        body = props(platform_template, group)
        assert body["MinSize"] == {"Ref": f"{prefix}MinSize"}
        assert body["MaxSize"] == {"Ref": f"{prefix}MaxSize"}
        assert (parameters[f"{prefix}MinSize"]["Default"], parameters[f"{prefix}MaxSize"]["Default"]) == (
            1,
            3,
        )
        assert body["VPCZoneIdentifier"] == {
            "Fn::Split": [",", {"Fn::ImportValue": {"Fn::Sub": "${NetworkStackName}-PrivateSubnets"}}]
        }
        update = platform_template["Resources"][group]["UpdatePolicy"]["AutoScalingRollingUpdate"]
        assert update["MaxBatchSize"] == 1
        assert update["WaitOnResourceSignals"] is True


def test_load_balancer_health_check_and_https_readiness(platform_template: dict[str, Any]) -> None:
    group = props(platform_template, "WebTargetGroup")
    assert (group["HealthCheckPath"], group["Port"]) == ("/api/health", 8000)
    https = platform_template["Resources"]["HttpsListener"]
    assert https["Condition"] == "HasCertificate"
    assert https["Properties"]["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    web_ingress = props(platform_template, "WebSecurityGroup")["SecurityGroupIngress"]
    assert web_ingress == [
        {
            "IpProtocol": "tcp",
            "FromPort": 8000,
            "ToPort": 8000,
            "SourceSecurityGroupId": {"Ref": "AlbSecurityGroup"},
        }
    ]


def test_each_service_has_only_what_it_needs(platform_template: dict[str, Any]) -> None:
    gateway = actions(platform_template, "GatewayRole")
    ingest = actions(platform_template, "IngestRole")
    transcoder = actions(platform_template, "TranscoderRole")
    for granted in (gateway, ingest, transcoder):
        assert not any(action.endswith("*") for action in granted), granted
    # The gateway never touches the queue; only the transcoder receives from it.
    assert not any(action.startswith("sqs:") for action in gateway)
    assert "sqs:ReceiveMessage" not in ingest
    assert "sqs:SendMessage" in ingest
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} <= transcoder
    queue = {"Fn::GetAtt": ["ProcessingQueue", "Arn"]}
    dlq = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert resources_of(platform_template, "IngestRole", "sqs:SendMessage") == [queue]
    # The transcoder sends only to the DLQ (malformed jobs); it never enqueues work.
    assert resources_of(platform_template, "TranscoderRole", "sqs:SendMessage") == [dlq]
    assert resources_of(platform_template, "TranscoderRole", "sqs:ReceiveMessage") == [queue, dlq]
    # The transcoder cannot delete or overwrite users' originals.
    deletable = resources_of(platform_template, "TranscoderRole", "s3:DeleteObject")
    writable = resources_of(platform_template, "TranscoderRole", "s3:PutObject")
    assert deletable == writable == [{"Fn::Sub": "${VideoBucket.Arn}/processed/*"}]
    assert resources_of(platform_template, "IngestRole", "s3:PutObject") == [
        {"Fn::Sub": "${VideoBucket.Arn}/uploads/*"}
    ]
    # Scale-in protection only on the transcoders' own group.
    (protect,) = resources_of(platform_template, "TranscoderRole", "autoscaling:SetInstanceProtection")
    assert protect["Fn::Sub"].endswith(":autoScalingGroupName/${AWS::StackName}-transcoders")
    assert resources_of(platform_template, "TranscoderRole", "autoscaling:DescribeAutoScalingInstances") == [
        "*"
    ]
    assert props(platform_template, "WorkerGroup")["AutoScalingGroupName"] == {
        "Fn::Sub": "${AWS::StackName}-transcoders"
    }
    # The web host itself holds no data permissions: it can only become the gateway or ingest.
    host = actions(platform_template, "WebHostRole")
    assert not any(action.startswith(("sqs:", "autoscaling:")) for action in host)
    assert resources_of(platform_template, "WebHostRole", "sts:AssumeRole") == [
        {"Fn::GetAtt": ["GatewayRole", "Arn"]},
        {"Fn::GetAtt": ["IngestRole", "Arn"]},
    ]
    profiles = {
        json.dumps(p["Properties"]["Roles"])
        for p in resources(platform_template, "AWS::IAM::InstanceProfile").values()
    }
    assert profiles == {json.dumps([{"Ref": "WebHostRole"}]), json.dumps([{"Ref": "TranscoderRole"}])}


def test_transcoder_stop_timeout_exceeds_the_worker_grace(platform_template: dict[str, Any]) -> None:
    grace = platform_template["Parameters"]["WorkerGraceSeconds"]
    assert int(grace["Default"]) == 240
    unit = (DEPLOY / "systemd" / "anb-transcoder.service").read_text()
    (stop,) = re.findall(r"^TimeoutStopSec=(\d+)$", unit, re.MULTILINE)
    # Whatever grace a deployment picks, systemd waits longer before SIGKILL.
    assert int(stop) > int(grace["MaxValue"]) >= int(grace["Default"])
    assert len(UNITS) == 3


def test_the_gateway_keeps_connections_open_longer_than_the_load_balancer(
    platform_template: dict[str, Any],
) -> None:
    attributes = platform_template["Resources"]["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]
    idle = int(next(a["Value"] for a in attributes if a["Key"] == "idle_timeout.timeout_seconds"))
    unit = (DEPLOY / "systemd" / "anb-gateway.service").read_text()
    (keep_alive,) = re.findall(r"--timeout-keep-alive (\d+)", unit)
    # Otherwise the ALB reuses connections the gateway is closing and answers 502 (AWS's guidance).
    assert int(keep_alive) > idle
    # `make run` serves the same way.
    assert int(keep_alive) == GATEWAY_KEEP_ALIVE_S
