#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Bootstrap of a web-tier instance: gateway (public, port 8000) and ingest (127.0.0.1:8001) side by side.
# Run once by the user data as root; signals CloudFormation, from its EXIT trap, SUCCESS only once
# the gateway answers its health check (database included) and both units stayed up.
set -Eeuo pipefail
shopt -s inherit_errexit
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
bootstrap_begin

load_stack_env ANB_BUCKET ANB_QUEUE_NAME ANB_DLQ_NAME ANB_DB_HOST ANB_DB_PORT ANB_DB_SECRET_ARN \
    ANB_JWT_SECRET_ARN ANB_INTERNAL_SECRET_ARN ANB_GATEWAY_ROLE_ARN ANB_INGEST_ROLE_ARN ANB_RELEASE_VERSION

# Secrets first: a missing or empty one stops the bootstrap before anything is installed.
jwt_secret=$(secret_value "$ANB_JWT_SECRET_ARN")
internal_secret=$(secret_value "$ANB_INTERNAL_SECRET_ARN")
shared_env=$(common_env)

# The brand assets travel with the release; the bucket gets them when it has none (a first
# deployment), never overwriting what an operator put there. Workers are not ready without them.
"${ANB_BOOT[@]}" --region "$ANB_REGION" seed "$ANB_RELEASE_DIR/resources" "s3://$ANB_BUCKET/resources/"

stop_units anb-gateway.service anb-ingest.service
install_service ingest
install_service gateway

# Each service runs with its own role, assumed from the host's instance role (see deploy/README.md).
install -m 0644 /dev/stdin "$ANB_ETC/aws-config" <<CONFIG
[profile anb-gateway]
role_arn = $ANB_GATEWAY_ROLE_ARN
credential_source = Ec2InstanceMetadata
region = $ANB_REGION

[profile anb-ingest]
role_arn = $ANB_INGEST_ROLE_ARN
credential_source = Ec2InstanceMetadata
region = $ANB_REGION
CONFIG

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
# In a subshell: ingest's AWS_PROFILE must not leak into the signal and the other commands below.
(
    set -a
    # shellcheck disable=SC1091  # written just above
    source "$ANB_ETC/ingest.env"
    set +a
    exec "$ANB_ROOT/ingest/bin/python" "$ANB_RELEASE_DIR/bootstrap/migrate_once.py"
)

start_units anb-ingest.service anb-gateway.service

log "waiting for the gateway's health check"
"${ANB_BOOT[@]}" wait-http http://127.0.0.1:8000/api/health 180
"${ANB_BOOT[@]}" wait-http http://127.0.0.1:8001/internal/health 30
unit_stayed_up anb-ingest.service
unit_stayed_up anb-gateway.service
ANB_READY=true
log "ready"
