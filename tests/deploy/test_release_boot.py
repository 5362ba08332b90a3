"""deploy/bootstrap/anb_boot.py and the launch templates' stage 0 sign their AWS requests exactly as
botocore does (moto never checks signatures, so the rehearsal could not tell), and anb_boot.py's
commands do what the bootstrap relies on against moto: fetch a release checking every digest, refuse
an empty secret, seed without overwriting."""

from __future__ import annotations

import datetime
import hashlib
import importlib.util
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .support import DEPLOY

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token/+=")
REGION = "eu-west-1"
INSTANCE = "i-0123456789abcdef0"


def _load_boot() -> ModuleType:
    spec = importlib.util.spec_from_file_location("anb_boot", DEPLOY / "bootstrap" / "anb_boot.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["anb_boot"] = module
    spec.loader.exec_module(module)
    return module


boot = _load_boot()


def botocore_signature(method: str, url: str, headers: dict[str, str], body: bytes, service: str) -> str:
    """The signature AWS computes for a request that signed exactly ``headers`` (lower-case names)."""
    request = AWSRequest(
        method=method, url=url, data=body, headers={k: v for k, v in headers.items() if k != "host"}
    )
    request.context["timestamp"] = headers["x-amz-date"]
    auth = (S3SigV4Auth if service == "s3" else SigV4Auth)(CREDS, service, REGION)
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request)


def _signature_of(authorization: str) -> tuple[str, list[str]]:
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=\S+, SignedHeaders=(\S+), Signature=(\w+)", authorization
    )
    assert match, authorization
    return match.group(2), match.group(1).split(";")


@pytest.mark.parametrize(
    ("service", "method", "url", "headers", "body"),
    [
        (
            "s3",
            "GET",
            "https://bucket.s3.eu-west-1.amazonaws.com/releases/r-1/wheelhouse/a_b-1.0%2Bx.whl",
            {},
            b"",
        ),
        ("s3", "PUT", "http://127.0.0.1:5000/videos/resources/logo.png", {"if-none-match": "*"}, b"\x89PNG"),
        (
            "secretsmanager",
            "POST",
            "https://secretsmanager.eu-west-1.amazonaws.com/",
            {"content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.GetSecretValue"},
            b'{"SecretId": "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbC"}',
        ),
        (
            "logs",
            "POST",
            "https://logs.eu-west-1.amazonaws.com/",
            {"content-type": "application/x-amz-json-1.1", "x-amz-target": "Logs_20140328.PutLogEvents"},
            b'{"logGroupName": "/anb/anb/gateway", "logStreamName": "i-0123", "logEvents": []}',
        ),
        (
            "cloudformation",
            "POST",
            "http://10.0.0.1:4000/?x=1&a=b%20c",
            {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
            b"Action=SignalResource&Status=SUCCESS",
        ),
    ],
)
def test_anb_boot_signs_as_botocore_does(
    service: str, method: str, url: str, headers: dict[str, str], body: bytes
) -> None:
    now = datetime.datetime(2026, 11, 30, 12, 0, 1, tzinfo=datetime.UTC)
    payload = hashlib.sha256(body).hexdigest() if body or service != "s3" else "UNSIGNED-PAYLOAD"
    creds = boot.Credentials(CREDS.access_key, CREDS.secret_key, CREDS.token)
    signed = boot.sign(method, url, headers, payload, service, REGION, creds, now)
    signature, names = _signature_of(signed.pop("authorization"))
    all_headers = {**{k.lower(): v for k, v in headers.items()}, **signed, "host": urlsplit(url).netloc}
    assert sorted(all_headers) == names
    assert signature == botocore_signature(method, url, all_headers, body, service)


class _Aws(BaseHTTPRequestHandler):
    """IMDSv2 and S3 GET in one: checks every S3 request's signature with botocore."""

    objects: ClassVar[dict[str, bytes]] = {}
    failures: ClassVar[list[str]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._reply(200, b"token-1")
        else:
            self._reply(403, b"")

    def do_GET(self) -> None:
        if self.path.startswith("/latest/"):
            if self.headers.get("X-aws-ec2-metadata-token") != "token-1":
                self._reply(401, b"")
            elif self.path == "/latest/meta-data/iam/security-credentials/":
                self._reply(200, b"web-host-role")
            elif self.path == "/latest/meta-data/iam/security-credentials/web-host-role":
                creds = {
                    "AccessKeyId": CREDS.access_key,
                    "SecretAccessKey": CREDS.secret_key,
                    "Token": CREDS.token,
                }
                self._reply(200, json.dumps(creds).encode())
            elif self.path == "/latest/meta-data/instance-id":
                self._reply(200, INSTANCE.encode())
            else:
                self._reply(404, b"")
            return
        signature, names = _signature_of(self.headers["Authorization"])
        signed = {name: self.headers[name] for name in names}
        expected = botocore_signature("GET", f"http://{self.headers['Host']}{self.path}", signed, b"", "s3")
        if signature != expected:
            self.failures.append(self.path)
            self._reply(403, b"SignatureDoesNotMatch")
            return
        body = self.objects.get(self.path)
        self._reply(200, body) if body is not None else self._reply(404, b"NoSuchKey")


@pytest.fixture
def fake_aws() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Aws)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _stage0(template: dict[str, Any], group: str) -> str:
    data = template["Resources"][group]["Properties"]["LaunchTemplateData"]["UserData"]
    body = data["Fn::Base64"]["Fn::Sub"][0]
    match = re.search(r"<<'PY'\n(.*?)\nPY\n", body, re.S)
    assert match, "the user data's stage 0 is a python3 here-document"
    return match.group(1)


@pytest.mark.parametrize("group", ["WebLaunchTemplate", "WorkerLaunchTemplate"])
def test_user_data_stage0_fetches_the_helper_signed_as_aws_expects(
    platform_template: dict[str, Any], group: str, fake_aws: str, tmp_path: Path
) -> None:
    _Aws.objects = {"/artifacts/releases/r1/bootstrap/anb_boot.py": b"print('helper')\n"}
    _Aws.failures = []
    dest = tmp_path / "anb_boot.py"
    result = subprocess.run(
        [sys.executable, "-", REGION, "s3://artifacts/releases/r1/bootstrap/anb_boot.py", str(dest)],
        input=_stage0(platform_template, group),
        capture_output=True,
        text=True,
        env={
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": fake_aws,
            "AWS_ENDPOINT_URL": fake_aws,
            "PATH": "/usr/bin:/bin",
        },
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert _Aws.failures == []
    assert dest.read_bytes() == b"print('helper')\n"


def _run_boot(moto_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, str(DEPLOY / "bootstrap/anb_boot.py"), "--region", "us-east-1", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _client(service: str, moto_url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_fetch_release_checks_every_digest(moto_url: str, tmp_path: Path) -> None:
    s3 = _client("s3", moto_url)
    bucket = "boot-" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:10]
    s3.create_bucket(Bucket=bucket)
    files = {"bootstrap/web.sh": b"echo web\n", "wheels/a.whl": b"wheel"}
    sums = "".join(f"{hashlib.sha256(v).hexdigest()}  {k}\n" for k, v in files.items())
    for key, value in {**files, "SHA256SUMS": sums.encode()}.items():
        s3.put_object(Bucket=bucket, Key=f"releases/r1/{key}", Body=value)
    result = _run_boot(moto_url, "fetch-release", f"s3://{bucket}/releases/r1", str(tmp_path / "release"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "release/bootstrap/web.sh").read_bytes() == b"echo web\n"
    # A file changed after SHA256SUMS was written is refused, and nothing half-fetched is left in place.
    s3.put_object(Bucket=bucket, Key="releases/r1/wheels/a.whl", Body=b"tampered")
    result = _run_boot(moto_url, "fetch-release", f"s3://{bucket}/releases/r1", str(tmp_path / "other"))
    assert result.returncode == 1
    assert "wheels/a.whl: SHA-256 differs" in result.stderr
    assert not (tmp_path / "other").exists()


def test_secret_refuses_missing_and_empty_values(moto_url: str) -> None:
    secrets = _client("secretsmanager", moto_url)
    suffix = hashlib.sha1(str(datetime.datetime.now()).encode()).hexdigest()[:8]
    good = secrets.create_secret(Name=f"good-{suffix}", SecretString='{"username": "anb", "password": "pw"}')
    blank = secrets.create_secret(Name=f"blank-{suffix}", SecretString='{"username": "anb", "password": ""}')
    assert _run_boot(moto_url, "secret", good["ARN"], "--field", "password").stdout == "pw\n"
    for args in (
        [blank["ARN"], "--field", "password"],
        [f"missing-{suffix}"],
        [good["ARN"], "--field", "nope"],
    ):
        result = _run_boot(moto_url, "secret", *args)
        assert result.returncode == 1, args
        assert result.stdout == ""


def test_seed_creates_missing_keys_and_never_overwrites(moto_url: str, tmp_path: Path) -> None:
    s3 = _client("s3", moto_url)
    bucket = "seed-" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:10]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="resources/logo.png", Body=b"operator's logo")
    (tmp_path / "logo.png").write_bytes(b"release logo")
    (tmp_path / "intro.png").write_bytes(b"release intro")
    result = _run_boot(moto_url, "seed", str(tmp_path), f"s3://{bucket}/resources/")
    assert result.returncode == 0, result.stderr
    assert s3.get_object(Bucket=bucket, Key="resources/logo.png")["Body"].read() == b"operator's logo"
    assert s3.get_object(Bucket=bucket, Key="resources/intro.png")["Body"].read() == b"release intro"
