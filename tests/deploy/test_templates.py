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

from anb_common.db import grants
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


def test_bucket_is_private_encrypted_aborts_stale_multipart_uploads_and_lets_pages_read(
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
    # The web app's hls.js reads segments by presigned link from the site's origin: reads only.
    (cors,) = bucket["CorsConfiguration"]["CorsRules"]
    assert sorted(cors["AllowedMethods"]) == ["GET", "HEAD"]


SERVICE_DATABASE_SECRETS = {
    "gateway": "GatewayDatabaseSecret",
    "ingest": "IngestDatabaseSecret",
    "transcoder": "TranscoderDatabaseSecret",
}


def test_database_is_multi_az_and_its_password_comes_from_secrets_manager(
    platform_template: dict[str, Any],
) -> None:
    db = props(platform_template, "Database")
    assert db["MultiAZ"] is True
    assert db["StorageEncrypted"] is True
    assert db["PubliclyAccessible"] is False
    # The major version: RDS keeps the minor current (AutoMinorVersionUpgrade) instead of retiring it.
    assert (db["EngineVersion"], db["AutoMinorVersionUpgrade"]) == ("16", True)
    assert db["DeletionProtection"] == {"Fn::If": ["ProtectDatabase", True, False]}
    assert platform_template["Parameters"]["DatabaseDeletionProtection"]["Default"] == "true"
    assert platform_template["Resources"]["Database"]["DeletionPolicy"] == "Snapshot"
    assert db["MasterUserPassword"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:password}}"
    }
    for name in ("JwtSecret", "InternalSecret", "DatabaseSecret", *SERVICE_DATABASE_SECRETS.values()):
        assert "GenerateSecretString" in props(platform_template, name)
        assert "SecretString" not in props(platform_template, name)


def test_each_service_logs_in_as_the_role_the_grants_create(platform_template: dict[str, Any]) -> None:
    for role in grants.ROLES:
        generated = props(platform_template, SERVICE_DATABASE_SECRETS[role.service])["GenerateSecretString"]
        assert json.loads(generated["SecretStringTemplate"]) == {"username": role.name}
        # Alphanumeric, so the password goes into ANB_DB_URL without escaping (and is SCRAM-able ASCII).
        assert (generated["GenerateStringKey"], generated["ExcludePunctuation"]) == ("password", True)
    assert set(SERVICE_DATABASE_SECRETS) == {role.service for role in grants.ROLES}


# The connection budget (deploy/README.md): RDS gives a db.t3.micro max_connections =
# DBInstanceClassMemory / 9531392 = 87; 3 of them are superuser_reserved_connections (rdsadmin) and 2
# rds.rds_superuser_reserved_connections (the master). Migrations hold two (the advisory-lock session and
# Alembic's), an operator's psql and RDS's tooling get five, and a rolling update runs one instance of
# each group above its maximum.
T3_MICRO_MAX_CONNECTIONS = 87
RESERVED = 3 + 2
MIGRATIONS = 2
HEADROOM = 5
ROLLING_SURGE = 1


def connection_budget(template: dict[str, Any]) -> dict[str, int]:
    pools = template["Mappings"]["DatabasePools"]
    parameters = template["Parameters"]

    def process(service: str) -> int:
        return int(pools[service]["PoolSize"]) + int(pools[service]["MaxOverflow"])

    web_hosts = int(parameters["WebMaxSize"]["Default"]) + ROLLING_SURGE
    worker_hosts = int(parameters["WorkerMaxSize"]["Default"]) + ROLLING_SURGE
    # The gateway's change feed holds one more connection of its own (anb_gateway.changes).
    web_host = process("gateway") + 1 + process("ingest")
    services = web_hosts * web_host + worker_hosts * process("transcoder")
    return {
        "web_host": web_host,
        "services": services,
        "total": services + MIGRATIONS + HEADROOM + RESERVED,
    }


def test_pools_fit_the_database_with_the_largest_fleet(platform_template: dict[str, Any]) -> None:
    budget = connection_budget(platform_template)
    assert platform_template["Parameters"]["DatabaseInstanceClass"]["Default"] == "db.t3.micro"
    assert budget["total"] <= T3_MICRO_MAX_CONNECTIONS
    # The connections alarm fires above what every service process may hold together.
    assert (
        budget["services"] == platform_template["Mappings"]["DatabasePools"]["budget"]["ServiceConnections"]
    )
    assert props(platform_template, "DatabaseConnectionsAlarm")["Threshold"] == {
        "Fn::FindInMap": ["DatabasePools", "budget", "ServiceConnections"]
    }
    readme = (DEPLOY / "README.md").read_text()
    assert f"| **all service processes** | | | | **{budget['services']}** |" in readme
    assert f"| **total** | | | | **{budget['total']}** of {T3_MICRO_MAX_CONNECTIONS} |" in readme


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


def _holds(condition: Any, parameters: dict[str, str]) -> bool:
    """Evaluate a rule's condition or assertion for given parameter values."""
    if isinstance(condition, dict) and "Ref" in condition:
        return parameters[condition["Ref"]]  # type: ignore[return-value]
    (function, arguments), *_ = condition.items()
    if function == "Fn::Equals":
        return bool(_value(arguments[0], parameters) == _value(arguments[1], parameters))
    if function == "Fn::Not":
        return not _holds(arguments[0], parameters)
    raise AssertionError(f"not evaluated here: {function}")


def _value(argument: Any, parameters: dict[str, str]) -> Any:
    return parameters[argument["Ref"]] if isinstance(argument, dict) and "Ref" in argument else argument


def _creation_allowed(template: dict[str, Any], parameters: dict[str, str]) -> bool:
    defaults = {name: str(body.get("Default", "")) for name, body in template["Parameters"].items()}
    values = {**defaults, **parameters}
    for rule in template["Rules"].values():
        if "RuleCondition" in rule and not _holds(rule["RuleCondition"], values):
            continue
        if not all(_holds(assertion["Assert"], values) for assertion in rule["Assertions"]):
            return False
    return True


def test_creating_the_stack_without_a_certificate_needs_allow_plain_http(
    platform_template: dict[str, Any],
) -> None:
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    assert not _creation_allowed(platform_template, {})
    assert not _creation_allowed(platform_template, {"AllowPlainHttp": "false"})
    assert _creation_allowed(platform_template, {"AllowPlainHttp": "true"})
    assert _creation_allowed(platform_template, {"CertificateArn": certificate})
    assert _creation_allowed(platform_template, {"CertificateArn": certificate, "AllowPlainHttp": "true"})


def test_load_balancer_checks_liveness_redirects_to_https_and_sends_hsts(
    platform_template: dict[str, Any],
) -> None:
    group = props(platform_template, "WebTargetGroup")
    # Liveness only: a database failover must not fail it (deploy/README.md, Health checks).
    assert (group["HealthCheckPath"], group["Port"]) == ("/api/live", 8000)
    web = props(platform_template, "WebGroup")
    assert (web["HealthCheckType"], web["HealthCheckGracePeriod"]) == ("ELB", 600)
    https = platform_template["Resources"]["HttpsListener"]
    assert https["Condition"] == "HasCertificate"
    assert https["Properties"]["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert https["Properties"]["ListenerAttributes"] == [
        {"Key": "routing.http.response.strict_transport_security.header_value", "Value": "max-age=31536000"}
    ]
    http = props(platform_template, "HttpListener")["DefaultActions"]["Fn::If"]
    assert http[0] == "HasCertificate"
    assert http[1] == [
        {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
    ]
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


def test_secrets_and_logs_each_host_may_read_or_write(platform_template: dict[str, Any]) -> None:
    # The host that decodes untrusted media never holds the master's login; the web host migrates and
    # creates every role, so it reads all of them.
    assert resources_of(platform_template, "TranscoderRole", "secretsmanager:GetSecretValue") == [
        {"Ref": "TranscoderDatabaseSecret"}
    ]
    assert resources_of(platform_template, "WebHostRole", "secretsmanager:GetSecretValue") == [
        {"Ref": name}
        for name in ("JwtSecret", "InternalSecret", "DatabaseSecret", *SERVICE_DATABASE_SECRETS.values())
    ]
    assert resources_of(platform_template, "WebHostRole", "s3:PutObject") == [
        {"Fn::Sub": "${VideoBucket.Arn}/resources/*"}
    ]
    shipped = {
        "WebHostRole": ["GatewayLogGroup", "IngestLogGroup", "BootstrapLogGroup"],
        "TranscoderRole": ["TranscoderLogGroup", "BootstrapLogGroup"],
    }
    for role, groups in shipped.items():
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            assert resources_of(platform_template, role, action) == [
                {"Fn::GetAtt": [group, "Arn"]} for group in groups
            ]
    for group in ("GatewayLogGroup", "IngestLogGroup", "TranscoderLogGroup", "BootstrapLogGroup"):
        assert props(platform_template, group)["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # Metrics only into the platform's namespace.
    for role in ("GatewayRole", "IngestRole", "TranscoderRole"):
        (statement,) = [
            s for s in statements(platform_template, role) if s["Action"] == "cloudwatch:PutMetricData"
        ]
        assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "ANB/Video"}}
    # Assumed from instance credentials (role chaining): AWS caps the session at 1 h whatever the role
    # allows, so the role asks for nothing longer.
    assert "MaxSessionDuration" not in props(platform_template, "GatewayRole")


ALARMS = {
    "DeadLetterQueueAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "LoadBalancer5xxAlarm": None,
    "LatencyAlarm": ("AWS/ApplicationELB", "TargetResponseTime"),
    "UnhealthyHostsAlarm": ("AWS/ApplicationELB", "UnHealthyHostCount"),
    "NotReadyAlarm": None,
    "QueueAgeAlarm": ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
    "WorkersAtMaximumAlarm": ("AWS/AutoScaling", "GroupDesiredCapacity"),
    "DatabaseCpuAlarm": ("AWS/RDS", "CPUUtilization"),
    "DatabaseStorageAlarm": ("AWS/RDS", "FreeStorageSpace"),
    "DatabaseConnectionsAlarm": ("AWS/RDS", "DatabaseConnections"),
}


def test_every_alarm_tells_the_alerts_topic(platform_template: dict[str, Any]) -> None:
    alarms = resources(platform_template, "AWS::CloudWatch::Alarm")
    operational = {name: body for name, body in alarms.items() if "Condition" not in body}
    assert set(operational) == set(ALARMS)
    for name, metric in ALARMS.items():
        alarm = operational[name]["Properties"]
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlertsTopic"}], name
        if metric is not None:
            assert (alarm["Namespace"], alarm["MetricName"]) == metric, name
    latency = props(platform_template, "LatencyAlarm")
    assert (latency["ExtendedStatistic"], latency["Threshold"], latency["ComparisonOperator"]) == (
        "p95",
        1,
        "GreaterThanThreshold",
    )
    at_max = props(platform_template, "WorkersAtMaximumAlarm")
    assert (at_max["Threshold"], at_max["Period"] * at_max["EvaluationPeriods"]) == (
        {"Ref": "WorkerMaxSize"},
        900,
    )
    ready = {m["Id"]: m for m in props(platform_template, "NotReadyAlarm")["Metrics"]}
    assert {ready[s]["MetricStat"]["Metric"]["MetricName"] for s in ("gateway", "ingest", "transcoder")} == {
        "Ready"
    }


def test_transcoders_start_after_the_web_group_created_their_role(platform_template: dict[str, Any]) -> None:
    assert platform_template["Resources"]["WorkerGroup"]["DependsOn"] == "WebGroup"


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
