"""`make rehearse`: boot a web host and a worker host as EC2 would, from the template's own user data,
drive the platform through the web host's gateway, run the drills; the last line printed is JSON.

    python -m anb_rehearsal --dist dist [--keep]

Run as root (nspawn, a bridge, 169.254.169.254). Logs and the hosts' disks stay in
.devdata/rehearsal/ (the disks are removed unless --keep)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from anb_rehearsal import checks, network, rootfs
from anb_rehearsal.host import Host
from anb_rehearsal.platform import RDS_PORT, Platform
from anb_rehearsal.stack import RDS_CA_BUNDLE, REGION, Stack, client, load_template, publish, release_copy

REPO = Path(__file__).resolve().parents[3]


def say(message: str) -> None:
    print(f"[rehearse {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=REPO / "dist")
    parser.add_argument("--workdir", type=Path, default=REPO / ".devdata/rehearsal")
    parser.add_argument("--keep", action="store_true", help="keep the hosts' disks after the run")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("make rehearse needs root (systemd-nspawn, a bridge, the metadata address)", file=sys.stderr)
        return 2
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, object] = {
        "hosts_booted": 0,
        "flow_passed": False,
        "drills_passed": 0,
        "drills_total": len(checks.DRILLS),
        "boot_to_healthy_s": None,
        "release_mb": round(sum(p.stat().st_size for p in args.dist.rglob("*") if p.is_file()) / 1e6, 1),
    }
    hosts: list[Host] = []
    platform = Platform(workdir)
    try:
        image = rootfs.rootfs(say)
        with network.bridge():
            try:
                result.update(rehearse(args.dist, workdir, platform, image, hosts))
            finally:
                # The hosts power off while what they talk to is still there (their log shippers
                # send their last lines), then the platform goes, then the bridge.
                stop(hosts, keep=args.keep)
                platform.close()
    except Exception:
        traceback.print_exc()
    finally:
        stop(hosts, keep=args.keep)
        platform.close()
    print(json.dumps(result), flush=True)
    ok = (
        result["flow_passed"]
        and result["drills_passed"] == result["drills_total"]
        and result["hosts_booted"] == 2
    )
    return 0 if ok else 1


def rehearse(dist: Path, workdir: Path, platform: Platform, image: Path, hosts: list[Host]) -> dict[str, Any]:
    """The stack in moto, the platform's stand-ins, the release published, then the run itself."""
    platform.start()
    say(f"moto {platform.moto.url}, PostgreSQL behind {network.GATEWAY}:{RDS_PORT}")
    template = load_template(REPO / "deploy/cloudformation/platform.yaml")
    stack = Stack(template, platform.moto.url)
    network_stack = template["Parameters"]["NetworkStackName"]["Default"]
    stack.create(
        {"ArtifactBucket": "", "ReleaseVersion": "r1"},
        (network.GATEWAY, RDS_PORT),
        imports={f"{network_stack}-PublicSubnetCidrs": network.PUBLIC_SUBNETS},
    )
    artifacts = stack.values["ArtifactBucket"] = f"{stack.values['VideoBucket']}-artifacts"
    client("s3", platform.moto.url).create_bucket(
        Bucket=artifacts, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    stack.create_groups()
    platform.create_master_user(stack.secret_values["DatabaseSecret"])
    # The release as published with RDS's CA bundle, here the stand-in's own CA.
    bundle = {RDS_CA_BUNDLE: platform.ca_pem}
    publish(release_copy(dist, workdir / "dist-r1", bundle), platform.moto.url, artifacts, "r1")
    newer = release_copy(dist, workdir / "dist-r2", bundle, label="r2-rolling-update")
    publish(newer, platform.moto.url, artifacts, "r2")
    endpoints = {
        "AWS_ENDPOINT_URL": platform.moto.url,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": platform.cloudformation_url,
    }
    rehearsal = checks.Rehearsal(stack, platform, endpoints, image, workdir, say)
    rehearsal.hosts = hosts
    return rehearsal.run()


def stop(hosts: list[Host], keep: bool) -> None:
    """Power every host off at once (each may take its units' stop timeouts), then drop their disks."""
    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        list(pool.map(lambda host: host.stop(), hosts))
    if not keep:
        for host in hosts:
            host.remove()


if __name__ == "__main__":
    sys.exit(main())
