"""What an instance needs from AWS before it has the release: the standard library only.

The AMI is Debian 12 (see deploy/README.md), which has python3 but no AWS CLI, and the bootstrap must
not install one from a package mirror at boot. The few calls it makes are signed here with Signature
Version 4, using the instance role's credentials from the instance metadata service (IMDSv2):

    fetch-release s3://BUCKET/releases/VERSION DEST   every file of its SHA256SUMS, each checked
    secret ARN [--field NAME]                         SecretString (or one JSON field); never empty
    seed DIR s3://BUCKET/PREFIX/                      PUT each file unless the key exists
    signal STACK RESOURCE SUCCESS|FAILURE             CloudFormation SignalResource
    wait-http URL SECONDS                             until the URL answers 200

Endpoints follow the AWS SDKs' conventions: ``AWS_ENDPOINT_URL_<SERVICE>``, then ``AWS_ENDPOINT_URL``
(the rehearsal points them at its stand-ins), else the regional AWS endpoint;
``AWS_EC2_METADATA_SERVICE_ENDPOINT`` likewise for the metadata service. Any failure exits non-zero
with one line on stderr. tests/deploy/test_release_boot.py checks the signatures against botocore's.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import mimetypes
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

_TIMEOUT_S = 30
_ATTEMPTS = 4
_UNSIGNED = "UNSIGNED-PAYLOAD"
# The SDKs' names for the endpoint variables (AWS_ENDPOINT_URL_<this>).
_ENV_NAMES = {
    "s3": "S3",
    "secretsmanager": "SECRETS_MANAGER",
    "cloudformation": "CLOUDFORMATION",
    "logs": "CLOUDWATCH_LOGS",
}


class BootError(Exception):
    """A failure the bootstrap reports in one line and exits on."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


def _request(url: str, **kwargs: object) -> urllib.request.Request:
    """A request to an http(s) URL: endpoints come from stack.env and the SDK variables, never a file."""
    if not url.startswith(("http://", "https://")):
        raise BootError(f"not an http(s) endpoint: {url}")
    return urllib.request.Request(url, **kwargs)  # type: ignore[arg-type]  # noqa: S310


def _http(request: urllib.request.Request, ok: tuple[int, ...] = (200,)) -> tuple[int, bytes]:
    """Send with retries on throttling, server errors and refused connections; other errors are final."""
    delay = 1.0
    for attempt in range(_ATTEMPTS):
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
            if exc.code in ok:
                return exc.code, body
            if (exc.code < 500 and exc.code != 429) or attempt == _ATTEMPTS - 1:
                detail = body[:300].decode(errors="replace")
                raise BootError(
                    f"{request.get_method()} {request.full_url}: HTTP {exc.code} {detail}"
                ) from None
        except OSError as exc:
            if attempt == _ATTEMPTS - 1:
                raise BootError(f"{request.get_method()} {request.full_url}: {exc}") from None
        time.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- instance metadata (IMDSv2)
def _imds_url(path: str) -> str:
    base = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254").rstrip("/")
    return f"{base}/{path}"


def _imds_token() -> str:
    request = _request(
        _imds_url("latest/api/token"), method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"}
    )
    return _http(request)[1].decode()


def imds(path: str, token: str | None = None) -> str:
    token = token or _imds_token()
    request = _request(_imds_url(path), headers={"X-aws-ec2-metadata-token": token})
    return _http(request)[1].decode()


def credentials() -> Credentials:
    """The environment's keys when set (as the SDKs do), else the instance role's."""
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return Credentials(
            os.environ["AWS_ACCESS_KEY_ID"],
            os.environ["AWS_SECRET_ACCESS_KEY"],
            os.environ.get("AWS_SESSION_TOKEN"),
        )
    token = _imds_token()
    role = imds("latest/meta-data/iam/security-credentials/", token).split()[0]
    found = json.loads(imds(f"latest/meta-data/iam/security-credentials/{role}", token))
    return Credentials(found["AccessKeyId"], found["SecretAccessKey"], found.get("Token"))


# ---------------------------------------------------------------- Signature Version 4
def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    payload_hash: str,
    service: str,
    region: str,
    creds: Credentials,
    now: datetime.datetime,
) -> dict[str, str]:
    """``headers`` plus the date, token and Authorization headers of a SigV4-signed request."""
    parts = urllib.parse.urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    if service == "s3":
        signed["x-amz-content-sha256"] = payload_hash
    if creds.token:
        signed["x-amz-security-token"] = creds.token
    names = ";".join(sorted(signed))
    query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    )
    path = urllib.parse.quote(urllib.parse.unquote(parts.path or "/"), safe="/-_.~")
    canonical = "\n".join(
        [method, path, query, "".join(f"{k}:{signed[k]}\n" for k in sorted(signed)), names, payload_hash]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + creds.secret_key).encode(), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {k: v for k, v in signed.items() if k != "host"}
    credential = f"{creds.access_key}/{scope}"
    out["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={names}, Signature={signature}"
    )
    return out


class Aws:
    def __init__(self, region: str, creds: Credentials | None = None) -> None:
        self.region = region
        self._creds = creds

    @property
    def creds(self) -> Credentials:
        if self._creds is None:
            self._creds = credentials()
        return self._creds

    def endpoint(self, service: str) -> str | None:
        name = _ENV_NAMES[service]
        return os.environ.get(f"AWS_ENDPOINT_URL_{name}") or os.environ.get("AWS_ENDPOINT_URL") or None

    def s3_url(self, bucket: str, key: str) -> str:
        quoted = urllib.parse.quote(key, safe="/-_.~")
        endpoint = self.endpoint("s3")
        if endpoint:
            return f"{endpoint.rstrip('/')}/{bucket}/{quoted}"
        return f"https://{bucket}.s3.{self.region}.amazonaws.com/{quoted}"

    def request(
        self,
        service: str,
        method: str,
        url: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> tuple[int, bytes]:
        payload_hash = hashlib.sha256(body).hexdigest() if body or service != "s3" else _UNSIGNED
        now = datetime.datetime.now(datetime.UTC)
        signed = sign(method, url, headers or {}, payload_hash, service, self.region, self.creds, now)
        request = _request(url, data=body or None, method=method, headers=signed)
        return _http(request, ok)

    def api_url(self, service: str) -> str:
        return self.endpoint(service) or f"https://{service}.{self.region}.amazonaws.com/"


def _parse_s3_uri(uri: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise BootError(f"not an s3:// URI: {uri}")
    return parts.netloc, parts.path.lstrip("/")


# ---------------------------------------------------------------- commands
def fetch_release(aws: Aws, uri: str, dest: Path) -> int:
    """Download SHA256SUMS and every file it lists; a file whose digest differs is an error."""
    bucket, prefix = _parse_s3_uri(uri.rstrip("/") + "/")
    _status, sums = aws.request("s3", "GET", aws.s3_url(bucket, prefix + "SHA256SUMS"))
    entries = [line.split(None, 1) for line in sums.decode().splitlines() if line.strip()]
    if not entries:
        raise BootError(f"{uri}/SHA256SUMS lists no file")
    staging = dest.with_name(dest.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    for digest, name in entries:
        name = name.strip().lstrip("*")
        if name.startswith("/") or ".." in Path(name).parts:
            raise BootError(f"SHA256SUMS names a path outside the release: {name}")
        _status, data = aws.request("s3", "GET", aws.s3_url(bucket, prefix + name))
        if hashlib.sha256(data).hexdigest() != digest:
            raise BootError(f"{name}: SHA-256 differs from SHA256SUMS")
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (staging / "SHA256SUMS").write_bytes(sums)
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    return len(entries)


def secret(aws: Aws, secret_id: str, field: str | None = None) -> str:
    body = json.dumps({"SecretId": secret_id}).encode()
    headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.GetSecretValue"}
    _status, answer = aws.request("secretsmanager", "POST", aws.api_url("secretsmanager"), body, headers)
    value = json.loads(answer).get("SecretString") or ""
    if field is not None:
        try:
            value = json.loads(value).get(field) or ""
        except (ValueError, AttributeError):
            raise BootError(f"secret {secret_id} is not a JSON object") from None
    if not isinstance(value, str) or not value.strip():
        raise BootError(f"secret {secret_id}{f' field {field}' if field else ''} is empty")
    return value


def seed(aws: Aws, folder: Path, uri: str) -> list[str]:
    """Create each key that is missing; ``If-None-Match: *`` never overwrites what someone put there."""
    bucket, prefix = _parse_s3_uri(uri)
    created = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        key = prefix + path.name
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = {"content-type": kind, "if-none-match": "*"}
        status, _ = aws.request(
            "s3", "PUT", aws.s3_url(bucket, key), path.read_bytes(), headers, ok=(200, 412)
        )
        if status == 200:
            created.append(key)
    return created


def signal(aws: Aws, stack: str, resource: str, status: str) -> None:
    if status not in {"SUCCESS", "FAILURE"}:
        raise BootError(f"status must be SUCCESS or FAILURE, not {status}")
    form = {
        "Action": "SignalResource",
        "Version": "2010-05-15",
        "StackName": stack,
        "LogicalResourceId": resource,
        "UniqueId": imds("latest/meta-data/instance-id"),
        "Status": status,
    }
    body = urllib.parse.urlencode(form).encode()
    headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    aws.request("cloudformation", "POST", aws.api_url("cloudformation"), body, headers)


def wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(2)
    raise BootError(f"{url} did not answer 200 within {seconds:.0f} s (last: {last})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="anb_boot.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", default=os.environ.get("ANB_REGION") or os.environ.get("AWS_REGION"))
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-release")
    fetch.add_argument("uri")
    fetch.add_argument("dest", type=Path)
    get = commands.add_parser("secret")
    get.add_argument("secret_id")
    get.add_argument("--field")
    put = commands.add_parser("seed")
    put.add_argument("folder", type=Path)
    put.add_argument("uri")
    cfn = commands.add_parser("signal")
    cfn.add_argument("stack")
    cfn.add_argument("resource")
    cfn.add_argument("status")
    wait = commands.add_parser("wait-http")
    wait.add_argument("url")
    wait.add_argument("seconds", type=float)
    args = parser.parse_args(argv)
    try:
        if args.command == "wait-http":
            wait_http(args.url, args.seconds)
            return 0
        if not args.region:
            raise BootError("no region: pass --region or set ANB_REGION")
        aws = Aws(args.region)
        if args.command == "fetch-release":
            count = fetch_release(aws, args.uri, args.dest)
            print(f"fetched {count} files of {args.uri}", file=sys.stderr)
        elif args.command == "secret":
            print(secret(aws, args.secret_id, args.field))
        elif args.command == "seed":
            for key in seed(aws, args.folder, args.uri):
                print(f"seeded {key}", file=sys.stderr)
        elif args.command == "signal":
            signal(aws, args.stack, args.resource, args.status)
    except BootError as exc:
        print(f"anb_boot.py {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
