#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Bootstrap of a web-tier instance: gateway (public, port 8000) and ingest (127.0.0.1:8001) side by side.
# Run once by the user data as root; signals CloudFormation, from its EXIT trap, SUCCESS only once
# both services said they are ready (READY=1), the gateway's and ingest's health checks answer
# (database included) and both units stayed up.
set -Eeuo pipefail
shopt -s inherit_errexit
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
bootstrap_begin

load_stack_env ANB_BUCKET ANB_QUEUE_NAME ANB_DLQ_NAME ANB_DB_HOST ANB_DB_PORT ANB_DB_SECRET_ARN \
    ANB_GATEWAY_DB_SECRET_ARN ANB_INGEST_DB_SECRET_ARN ANB_TRANSCODER_DB_SECRET_ARN \
    ANB_GATEWAY_DB_POOL_SIZE ANB_GATEWAY_DB_MAX_OVERFLOW ANB_INGEST_DB_POOL_SIZE ANB_INGEST_DB_MAX_OVERFLOW \
    ANB_JWT_SECRET_ARN ANB_INTERNAL_SECRET_ARN ANB_GATEWAY_ROLE_ARN ANB_INGEST_ROLE_ARN ANB_TRUSTED_PROXIES \
    ANB_LOG_GROUP_GATEWAY ANB_LOG_GROUP_INGEST ANB_LOG_GROUP_BOOTSTRAP ANB_RELEASE_VERSION

start_log_shipping "anb-gateway.service=$ANB_LOG_GROUP_GATEWAY" "anb-ingest.service=$ANB_LOG_GROUP_INGEST" \
    "cloud-final.service=$ANB_LOG_GROUP_BOOTSTRAP" "anb-logship.service=$ANB_LOG_GROUP_BOOTSTRAP"

# Secrets first: a missing or empty one stops the bootstrap before anything is installed.
jwt_secret=$(secret_value "$ANB_JWT_SECRET_ARN")
internal_secret=$(secret_value "$ANB_INTERNAL_SECRET_ARN")
master_url=$(database_url "$ANB_DB_SECRET_ARN")
# The migration step sets each service role's password from that service's own secret.
gateway_db_password=$(secret_value "$ANB_GATEWAY_DB_SECRET_ARN" --field password)
ingest_db_password=$(secret_value "$ANB_INGEST_DB_SECRET_ARN" --field password)
transcoder_db_password=$(secret_value "$ANB_TRANSCODER_DB_SECRET_ARN" --field password)
gateway_env=$(service_env gateway)
ingest_env=$(service_env ingest)

# The brand assets travel with the release; the bucket gets them when it has none (a first
# deployment), never overwriting what an operator put there. Workers are not ready without them.
"${ANB_BOOT[@]}" --region "$ANB_REGION" seed "$ANB_RELEASE_DIR/resources" "s3://$ANB_BUCKET/resources/"

stop_units anb-gateway.service anb-ingest.service
install_service ingest
install_service gateway

# Each service runs with its own role, assumed from the host's instance role (see deploy/README.md).
# No duration_seconds: a role assumed with instance credentials is role chaining, which AWS caps at
# one hour (the default); botocore renews the session before it ends.
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
$ingest_env
ANB_INTERNAL_SECRET=$internal_secret
ANB_INGEST_TEMP_DIR=/var/cache/anb-ingest
AWS_CONFIG_FILE=$ANB_ETC/aws-config
AWS_PROFILE=anb-ingest
ENV

# Presigned links die with the assumed session that signed them (one hour at most, renewed 10 to 15
# minutes before its end): 10 minutes always fit.
write_env_file gateway <<ENV
$gateway_env
ANB_JWT_SECRET=$jwt_secret
ANB_INTERNAL_SECRET=$internal_secret
ANB_INGEST_URL=http://127.0.0.1:8001
ANB_TRUSTED_PROXIES=$ANB_TRUSTED_PROXIES
ANB_HTTP_PRESIGN_EXPIRY_S=600
AWS_CONFIG_FILE=$ANB_ETC/aws-config
AWS_PROFILE=anb-gateway
ENV

log "applying migrations and the service roles' grants"
# As the master user, the one login that owns the schema and may create roles; the passwords travel in
# the environment of this one process (never in its arguments, which any user can read).
(
    rds_ca_bundle
    export ANB_DB_URL=$master_url ANB_DB_SSL_ROOT_CERT=$ANB_RDS_CA_BUNDLE
    export ANB_DB_ROLE_GATEWAY_PASSWORD=$gateway_db_password
    export ANB_DB_ROLE_INGEST_PASSWORD=$ingest_db_password
    export ANB_DB_ROLE_TRANSCODER_PASSWORD=$transcoder_db_password
    exec "$ANB_ROOT/ingest/bin/python" "$ANB_RELEASE_DIR/bootstrap/migrate_once.py"
)

# Type=notify: `systemctl start` returns once each sent READY=1 after its first readiness pass
# (database, and the bucket for ingest), or fails past TimeoutStartSec.
log "starting ingest and the gateway; waiting for them to be ready"
start_units anb-ingest.service anb-gateway.service

# And through HTTP, as the contract's health checks answer it.
"${ANB_BOOT[@]}" wait-http http://127.0.0.1:8000/api/health 180
"${ANB_BOOT[@]}" wait-http http://127.0.0.1:8001/internal/health 30
unit_stayed_up anb-ingest.service
unit_stayed_up anb-gateway.service
ANB_READY=true
log "ready"
