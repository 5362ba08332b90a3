#!/bin/bash
# Upload what `make dist` built to s3://BUCKET/releases/VERSION/, the folder the instances install from.
# Usage: deploy/publish-release.sh ARTIFACT_BUCKET VERSION
# A release folder is immutable: publishing over an existing VERSION is refused, so a rollback to it
# installs exactly what was tested.
set -euo pipefail
if [[ $# -ne 2 ]]; then
    echo "usage: $0 ARTIFACT_BUCKET VERSION" >&2
    exit 2
fi
bucket=$1
version=$2
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ ! -d "$root/dist/wheels" ]]; then
    echo "no dist/ yet: run make dist first" >&2
    exit 1
fi
# Instances verify RDS's certificate against this bundle and refuse to boot without it.
if [[ ! -s "$root/dist/certs/rds-ca-bundle.pem" ]]; then
    echo "dist/ has no RDS CA bundle: make dist RDS_CA_BUNDLE=global-bundle.pem (see the Makefile)" >&2
    exit 1
fi
if aws s3api list-objects-v2 --bucket "$bucket" --prefix "releases/$version/" --max-items 1 \
    --query 'Contents[0].Key' --output text | grep -qv '^None$'; then
    echo "releases/$version/ already exists in $bucket; pick a new version" >&2
    exit 1
fi
aws s3 cp --recursive --only-show-errors "$root/dist/" "s3://$bucket/releases/$version/"
echo "published s3://$bucket/releases/$version/"
