"""The stack as CloudFormation would have created it, in moto: buckets, queues, generated secrets,
roles, both Auto Scaling groups (their instances are the rehearsal's hosts), the published release;
and the launch templates' own user data with the stack's values substituted."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
from cfnlint.decode import cfn_yaml  # type: ignore[import-untyped]

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STACK = "anb-rehearsal"


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="rehearsal",
        aws_secret_access_key="rehearsal",  # noqa: S106 - moto takes any key
    )


def _generated(length: int) -> str:
    alphabet = string.ascii_letters + string.digits  # GenerateSecretString with ExcludePunctuation
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class Stack:
    """Values of the resources the user data names, keyed as Fn::Sub writes them."""

    template: dict[str, Any]
    endpoint: str
    values: dict[str, str] = field(default_factory=dict)
    secret_values: dict[str, str] = field(default_factory=dict)
    instances: dict[str, list[str]] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template["Resources"]
        return resources

    def create(
        self, parameters: dict[str, str], database: tuple[str, int], imports: dict[str, str] | None = None
    ) -> None:
        """Every resource type the launch templates refer to, created in moto as CloudFormation would;
        ``imports`` are the network stack's exports (by name) that the template imports."""
        v = self.values
        v.update({"AWS::StackName": STACK, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, **parameters})
        v.update({f"Import:{name}": value for name, value in (imports or {}).items()})
        for name, spec in self.template.get("Parameters", {}).items():
            if name not in v and "Default" in spec:
                v[name] = str(spec["Default"])
        s3, sqs, sm, iam, logs = (
            client(x, self.endpoint) for x in ("s3", "sqs", "secretsmanager", "iam", "logs")
        )
        for name, resource in self.resources.items():
            kind, props = resource["Type"], resource.get("Properties", {})
            if kind == "AWS::S3::Bucket":
                bucket = f"{STACK}-{name.lower()}-{secrets.token_hex(3)}"
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
                v[name] = bucket
                v[f"{name}.Arn"] = f"arn:aws:s3:::{bucket}"
            elif kind == "AWS::SecretsManager::Secret":
                generate = props.get("GenerateSecretString", {})
                value = _generated(int(generate.get("PasswordLength", 32)))
                if "SecretStringTemplate" in generate:
                    body = json.loads(generate["SecretStringTemplate"])
                    body[generate["GenerateStringKey"]] = value
                    value = json.dumps(body)
                arn = sm.create_secret(Name=f"{STACK}-{name}", SecretString=value)["ARN"]
                v[name] = arn
                self.secret_values[name] = value
            elif kind == "AWS::Logs::LogGroup":
                group = self._sub(props["LogGroupName"])
                logs.create_log_group(logGroupName=group)
                logs.put_retention_policy(
                    logGroupName=group, retentionInDays=int(self._resolve(props["RetentionInDays"]))
                )
                v[name] = group
                v[f"{name}.Arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
            elif kind == "AWS::IAM::Role":
                role = f"{STACK}-{name}"
                trust = {"Version": "2012-10-17", "Statement": []}
                arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
                    "Arn"
                ]
                v[name], v[f"{name}.Arn"] = role, arn
        # Queues after secrets and buckets: a redrive policy names the DLQ's ARN.
        for name, resource in sorted(self.resources.items(), key=lambda kv: "RedrivePolicy" in str(kv[1])):
            if resource["Type"] != "AWS::SQS::Queue":
                continue
            props = resource.get("Properties", {})
            queue_name = props.get("QueueName", f"{STACK}-{name}")
            attributes = {
                k: str(props[k])
                for k in ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds")
                if k in props
            }
            if "RedrivePolicy" in props:
                target = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                attributes["RedrivePolicy"] = json.dumps(
                    {
                        "deadLetterTargetArn": v[f"{target}.Arn"],
                        "maxReceiveCount": props["RedrivePolicy"]["maxReceiveCount"],
                    }
                )
            url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            v[name], v[f"{name}.QueueName"], v[f"{name}.Arn"] = url, queue_name, arn
        v["Database.Endpoint.Address"], v["Database.Endpoint.Port"] = database[0], str(database[1])

    def create_groups(self) -> None:
        """Both Auto Scaling groups with one instance each: those instances are the rehearsal's hosts
        (the worker protects its own instance from scale-in through Auto Scaling, by its id)."""
        ec2, autoscaling = client("ec2", self.endpoint), client("autoscaling", self.endpoint)
        subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
        for name, resource in self.resources.items():
            if resource["Type"] != "AWS::AutoScaling::AutoScalingGroup":
                continue
            group = resource["Properties"]["AutoScalingGroupName"]["Fn::Sub"].replace(
                "${AWS::StackName}", STACK
            )
            template = ec2.create_launch_template(
                LaunchTemplateName=f"{STACK}-{name}", LaunchTemplateData={"ImageId": "ami-12c6146b"}
            )["LaunchTemplate"]["LaunchTemplateId"]
            autoscaling.create_auto_scaling_group(
                AutoScalingGroupName=group,
                LaunchTemplate={"LaunchTemplateId": template},
                MinSize=1,
                MaxSize=3,
                DesiredCapacity=1,
                VPCZoneIdentifier=subnet,
            )
            found = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
            self.instances[name] = [i["InstanceId"] for i in found["AutoScalingGroups"][0]["Instances"]]
            self.values[name] = group

    def user_data(self, launch_template: str, endpoints: dict[str, str]) -> str:
        """The launch template's user data with the stack's values substituted, changed only by the
        AWS endpoints exported right after its first line (the SDKs' AWS_ENDPOINT_URL variables)."""
        data = self.resources[launch_template]["Properties"]["LaunchTemplateData"]["UserData"]
        sub = data["Fn::Base64"]["Fn::Sub"]
        body, variables = (sub, {}) if isinstance(sub, str) else sub
        local = {k: self._resolve(expr) for k, expr in variables.items()}
        missing: set[str] = set()

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            found = local.get(name, self.values.get(name))
            if found is None:
                missing.add(name)
                return ""
            return found

        script = re.sub(r"\$\{([^}]+)\}", value, body)
        if missing:
            raise KeyError(
                f"the rehearsal has no value for {sorted(missing)} in {launch_template}'s user data"
            )
        first, rest = script.split("\n", 1)
        exports = "".join(f"export {k}={v}\n" for k, v in endpoints.items())
        return f"{first}\n{exports}{rest}"

    def _resolve(self, expression: Any) -> str:
        if isinstance(expression, (str, int, float)):
            return str(expression)
        if isinstance(expression, dict) and "Fn::GetAtt" in expression:
            resource, attribute = expression["Fn::GetAtt"]
            return self.values[f"{resource}.{attribute}"]
        if isinstance(expression, dict) and "Ref" in expression:
            return self.values[expression["Ref"]]
        if isinstance(expression, dict) and "Fn::Sub" in expression:
            return self._sub(expression)
        if isinstance(expression, dict) and "Fn::ImportValue" in expression:
            return self.values[f"Import:{self._resolve(expression['Fn::ImportValue'])}"]
        if isinstance(expression, dict) and "Fn::FindInMap" in expression:
            mapping, key, attribute = (self._resolve(part) for part in expression["Fn::FindInMap"])
            return str(self.template["Mappings"][mapping][key][attribute])
        raise KeyError(f"the rehearsal cannot resolve {expression!r}")

    def _sub(self, expression: Any) -> str:
        """A string form Fn::Sub (or a plain string) with the stack's values."""
        text = expression["Fn::Sub"] if isinstance(expression, dict) else expression
        if not isinstance(text, str):
            raise KeyError(f"the rehearsal cannot resolve {expression!r}")
        return re.sub(r"\$\{([^}!]+)\}", lambda m: self.values[m.group(1)], text)


def load_template(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = cfn_yaml.load(str(path))
    return loaded


def publish(dist: Path, endpoint: str, bucket: str, version: str) -> None:
    """deploy/publish-release.sh's upload: every file of dist/ under releases/VERSION/."""
    s3 = client("s3", endpoint)
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        s3.put_object(
            Bucket=bucket, Key=f"releases/{version}/{path.relative_to(dist)}", Body=path.read_bytes()
        )


RDS_CA_BUNDLE = "certs/rds-ca-bundle.pem"
"""Where a release carries the CA bundle of RDS's certificates (make dist RDS_CA_BUNDLE=...)."""


def release_copy(dist: Path, target: Path, files: dict[str, bytes], label: str | None = None) -> Path:
    """A copy of ``dist`` with ``files`` added or replaced (and naming itself ``label`` in RELEASE when
    given), its SHA256SUMS rewritten: what `make dist` would have built with them."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(dist, target)
    for name, data in files.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(data)
    if label is not None:
        (target / "RELEASE").write_text(label + "\n")
    lines = []
    for path in sorted(
        (p for p in target.rglob("*") if p.is_file() and p.name != "SHA256SUMS"),
        key=lambda p: str(p.relative_to(target)),
    ):
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(target)}\n")
    (target / "SHA256SUMS").write_text("".join(lines))
    return target
