#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Bootstrap of a web-tier instance: gateway (public, port 8000) and ingest (127.0.0.1:8001) side by side.
# Run once by the user data as root; signals CloudFormation when the gateway answers its health check.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
trap 'on_error $LINENO' ERR

load_stack_env
install_os_packages
fetch_release
install_service ingest
install_service gateway

# Each service runs with its own role, assumed from the host's instance role (see deploy/README.md).
install -m 0644 /dev/stdin "$ANB_ETC/aws-config" <<CONFIG
[profile anb-gateway]
role_arn = $ANB_GATEWAY_ROLE_ARN
credential_source = Ec2InstanceMetadata
duration_seconds = 43200
region = $ANB_REGION

[profile anb-ingest]
role_arn = $ANB_INGEST_ROLE_ARN
credential_source = Ec2InstanceMetadata
region = $ANB_REGION
CONFIG

umask 077
jwt_secret=$(secret_value "$ANB_JWT_SECRET_ARN")
internal_secret=$(secret_value "$ANB_INTERNAL_SECRET_ARN")
shared_env=$(common_env)

write_env_file ingest <<ENV
$shared_env
ANB_INTERNAL_SECRET=$internal_secret
ANB_INGEST_TEMP_DIR=/var/cache/anb-ingest
AWS_CONFIG_FILE=$ANB_ETC/aws-config
AWS_PROFILE=anb-ingest
ENV

write_env_file gateway <<ENV
$shared_env
ANB_JWT_SECRET=$jwt_secret
ANB_INTERNAL_SECRET=$internal_secret
ANB_INGEST_URL=http://127.0.0.1:8001
AWS_CONFIG_FILE=$ANB_ETC/aws-config
AWS_PROFILE=anb-gateway
ENV

log "applying migrations"
# In a subshell: ingest's AWS_PROFILE must not leak into cfn-signal and the other commands below.
(
    set -a
    # shellcheck disable=SC1091  # written just above
    source "$ANB_ETC/ingest.env"
    set +a
    exec "$ANB_ROOT/ingest/bin/python" "$here/migrate_once.py"
)

start_units anb-ingest.service anb-gateway.service

log "waiting for the gateway health check"
for _ in $(seq 60); do
    if curl --silent --fail --max-time 2 http://127.0.0.1:8000/api/health >/dev/null; then
        signal_stack 0
        log "ready"
        exit 0
    fi
    sleep 2
done
log "gateway did not become healthy"
on_error "$LINENO"
