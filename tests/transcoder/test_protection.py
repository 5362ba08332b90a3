"""Scale-in protection against moto's auto scaling; IMDSv2 answered by a local stand-in (there is
no instance metadata service off EC2)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from anb_common.aws import Aws
from anb_common.settings import AwsSettings
from anb_transcoder.protection import ScaleInProtection, instance_id


class _Imds(BaseHTTPRequestHandler):
    instance = ""
    token = "imds-token"

    def do_PUT(self) -> None:
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._answer(200, self.token)
        else:
            self._answer(400, "")

    def do_GET(self) -> None:
        if self.headers.get("X-aws-ec2-metadata-token") != self.token:
            self._answer(401, "")  # IMDSv2 only: no token, no answer
        elif self.path == "/latest/meta-data/instance-id":
            self._answer(200, self.instance)
        else:
            self._answer(404, "")

    def _answer(self, status: int, body: str) -> None:
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def group_instance(aws_settings: AwsSettings) -> tuple[str, str]:
    """An auto scaling group in moto with one instance; returns (group name, instance id)."""
    kwargs = {
        "region_name": aws_settings.region,
        "endpoint_url": aws_settings.endpoint_url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    name = f"workers-{uuid.uuid4().hex[:8]}"
    ec2 = boto3.client("ec2", **kwargs)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    template = ec2.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling = boto3.client("autoscaling", **kwargs)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=1,
        MaxSize=1,
        AvailabilityZones=[f"{aws_settings.region}a"],
    )
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
    return name, groups[0]["Instances"][0]["InstanceId"]


@pytest.fixture
def imds(group_instance: tuple[str, str]) -> Iterator[str]:
    _Imds.instance = group_instance[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Imds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _protected(aws_settings: AwsSettings, instance: str) -> bool:
    autoscaling = boto3.client(
        "autoscaling",
        region_name=aws_settings.region,
        endpoint_url=aws_settings.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    found = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance])["AutoScalingInstances"]
    return bool(found[0]["ProtectedFromScaleIn"])


def test_instance_id_uses_an_imdsv2_token(imds: str, group_instance: tuple[str, str]) -> None:
    assert instance_id(imds) == group_instance[1]


async def test_protected_while_any_job_runs(
    aws_settings: AwsSettings, imds: str, group_instance: tuple[str, str]
) -> None:
    instance = group_instance[1]
    async with ScaleInProtection(Aws(aws_settings), imds) as protection:
        assert not _protected(aws_settings, instance)
        async with protection.held():
            assert _protected(aws_settings, instance)
            async with protection.held():
                assert _protected(aws_settings, instance)
            # One job still runs.
            assert _protected(aws_settings, instance)
        assert not _protected(aws_settings, instance)


async def test_an_instance_outside_any_group_is_refused(
    aws_settings: AwsSettings, imds: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Imds, "instance", "i-0123456789abcdef0")
    with pytest.raises(RuntimeError, match="no auto scaling group"):
        async with ScaleInProtection(Aws(aws_settings), imds):
            pass
