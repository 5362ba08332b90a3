#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Bootstrap of a transcoder instance: one SQS consumer that uses both vCPUs.
# Run once by the user data as root; signals CloudFormation once the worker has stayed up.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
source "$here/lib.sh"
trap 'on_error $LINENO' ERR

load_stack_env
install_os_packages
fetch_release
install_service transcoder

umask 077
shared_env=$(common_env)
write_env_file transcoder <<ENV
$shared_env
ANB_PROCESSING_TEMP_DIR=/var/cache/anb-transcoder
ANB_WORKER_GRACE_S=$ANB_WORKER_GRACE_S
ANB_WORKER_ASG_PROTECTION=true
ENV

start_units anb-transcoder.service

# The worker has no port to probe: up for 20 s without a single restart (Restart=on-failure would
# show a crash at start-up as a restart) is as close to "polling" as the outside can tell.
sleep 20
restarts=$(systemctl show --property=NRestarts --value anb-transcoder.service)
if systemctl is-active --quiet anb-transcoder.service && [[ "$restarts" == 0 ]]; then
    signal_stack 0
    log "ready"
    exit 0
fi
log "transcoder did not stay up"
on_error "$LINENO"
