#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Bootstrap of a transcoder instance: one SQS consumer that uses both vCPUs.
# Run once by the user data as root; signals CloudFormation, from its EXIT trap, SUCCESS only once the
# worker can take a job (ready_transcoder.py passes with the service's own user, settings and
# credentials: brand assets read, queues, bucket and database reachable) and the unit stayed up.
set -Eeuo pipefail
shopt -s inherit_errexit
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
bootstrap_begin

load_stack_env ANB_BUCKET ANB_QUEUE_NAME ANB_DLQ_NAME ANB_DB_HOST ANB_DB_PORT ANB_DB_SECRET_ARN \
    ANB_WORKER_GRACE_S ANB_RELEASE_VERSION

shared_env=$(common_env)

stop_units anb-transcoder.service
install_service transcoder

write_env_file transcoder <<ENV
$shared_env
ANB_PROCESSING_TEMP_DIR=/var/cache/anb-transcoder
ANB_WORKER_GRACE_S=$ANB_WORKER_GRACE_S
ANB_WORKER_ASG_PROTECTION=true
ENV

start_units anb-transcoder.service

# Until the worker signals READY=1 itself (Type=notify), its readiness is checked from outside with its
# own identity; brand assets may still be on their way (a web instance seeds them), hence the wait.
log "waiting for the worker to be ready"
ready=false
for _ in $(seq 60); do
    if (
        set -a
        # shellcheck disable=SC1091  # written just above
        source "$ANB_ETC/transcoder.env"
        set +a
        exec runuser -u anb-transcoder -- "$ANB_ROOT/transcoder/bin/python" \
            "$ANB_RELEASE_DIR/bootstrap/ready_transcoder.py"
    ); then
        ready=true
        break
    fi
    unit_stayed_up anb-transcoder.service
    sleep 5
done
[[ $ready == true ]]
unit_stayed_up anb-transcoder.service
ANB_READY=true
log "ready"
