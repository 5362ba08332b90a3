#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Bootstrap of a transcoder instance: one SQS consumer that uses both vCPUs.
# Run once by the user data as root; signals CloudFormation, from its EXIT trap, SUCCESS only once the
# worker itself said it can take a job (READY=1 to systemd: brand assets read, queues, bucket and
# database reachable with its own identity and settings) and the unit stayed up.
set -Eeuo pipefail
shopt -s inherit_errexit
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
bootstrap_begin

load_stack_env ANB_BUCKET ANB_QUEUE_NAME ANB_DLQ_NAME ANB_DB_HOST ANB_DB_PORT ANB_TRANSCODER_DB_SECRET_ARN \
    ANB_TRANSCODER_DB_POOL_SIZE ANB_TRANSCODER_DB_MAX_OVERFLOW ANB_WORKER_GRACE_S \
    ANB_LOG_GROUP_TRANSCODER ANB_LOG_GROUP_BOOTSTRAP ANB_RELEASE_VERSION

start_log_shipping "anb-transcoder.service=$ANB_LOG_GROUP_TRANSCODER" \
    "cloud-final.service=$ANB_LOG_GROUP_BOOTSTRAP" "anb-logship.service=$ANB_LOG_GROUP_BOOTSTRAP"

# Its own database login only (the master's secret is not readable from a worker).
transcoder_env=$(service_env transcoder)

stop_units anb-transcoder.service
install_service transcoder

write_env_file transcoder <<ENV
$transcoder_env
ANB_PROCESSING_TEMP_DIR=/var/cache/anb-transcoder
ANB_WORKER_GRACE_S=$ANB_WORKER_GRACE_S
ANB_WORKER_ASG_PROTECTION=true
ENV

# Type=notify: `systemctl start` returns once the worker sent READY=1 after its first readiness pass
# (temp folder, brand assets read, database, bucket and queue), or fails past TimeoutStartSec. Brand
# assets a web host has yet to seed are waited for there.
log "starting the worker; waiting for it to be ready"
start_units anb-transcoder.service
unit_stayed_up anb-transcoder.service
ANB_READY=true
log "ready"
