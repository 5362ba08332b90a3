#!/bin/bash
# Functions shared by web.sh and transcoder.sh. Sourced, never run. Every value the scripts need about
# the stack comes from /etc/anb/stack.env, written by the launch template's user data.

readonly ANB_ROOT=/opt/anb
readonly ANB_RELEASE_DIR=/opt/anb/release
readonly ANB_ETC=/etc/anb
readonly CFN_SIGNAL=/opt/aws/bin/cfn-signal

log() {
    printf '%s anb-bootstrap: %s\n' "$(date -u +%FT%TZ)" "$*" >&2
}

load_stack_env() {
    set -a
    # shellcheck disable=SC1091  # written by the user data at boot
    source "$ANB_ETC/stack.env"
    set +a
}

# Tell CloudFormation whether this instance came up: the creation and rolling-update policies wait
# for it, so a broken release stops the rollout instead of replacing every healthy instance.
signal_stack() {
    local exit_code=$1
    "$CFN_SIGNAL" --exit-code "$exit_code" --stack "$ANB_STACK_NAME" \
        --resource "$ANB_STACK_RESOURCE" --region "$ANB_REGION" || log "cfn-signal failed"
}

on_error() {
    local line=$1
    log "failed at line $line"
    if [[ -x "$CFN_SIGNAL" ]]; then
        signal_stack 1
    fi
    exit 1
}

install_os_packages() {
    # Amazon Linux 2023: python3.11 for the services, cfn helpers for signalling, jq for secrets.
    dnf install -y --quiet python3.11 aws-cfn-bootstrap jq
}

fetch_release() {
    log "fetching $ANB_RELEASE_URI"
    rm -rf "$ANB_RELEASE_DIR"
    aws s3 cp --recursive --only-show-errors --region "$ANB_REGION" "$ANB_RELEASE_URI/" "$ANB_RELEASE_DIR/"
}

# install_service NAME: a system user and a virtualenv at /opt/anb/NAME holding the release's wheels.
# Third-party packages come pinned with hashes from uv.lock (requirements/anb-NAME.txt); our own wheels
# are installed without dependencies so that pip cannot resolve anything the lock did not choose.
install_service() {
    local name=$1
    local venv="$ANB_ROOT/$name"
    if ! id "anb-$name" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /sbin/nologin "anb-$name"
    fi
    rm -rf "$venv"
    python3.11 -m venv "$venv"
    "$venv/bin/pip" install --quiet --no-cache-dir --require-hashes \
        -r "$ANB_RELEASE_DIR/requirements/anb-$name.txt"
    "$venv/bin/pip" install --quiet --no-cache-dir --no-deps \
        "$ANB_RELEASE_DIR"/wheels/anb_common-*.whl "$ANB_RELEASE_DIR/wheels/anb_${name}"-*.whl
    install -m 0644 "$ANB_RELEASE_DIR/systemd/anb-$name.service" "/etc/systemd/system/anb-$name.service"
}

secret_value() {
    aws secretsmanager get-secret-value --region "$ANB_REGION" --secret-id "$1" \
        --query SecretString --output text
}

# The generated database password is alphanumeric (ExcludePunctuation), so it needs no URL escaping.
database_url() {
    local secret user password
    secret=$(secret_value "$ANB_DB_SECRET_ARN")
    user=$(jq -r .username <<<"$secret")
    password=$(jq -r .password <<<"$secret")
    printf 'postgresql+asyncpg://%s:%s@%s:%s/anb' "$user" "$password" "$ANB_DB_HOST" "$ANB_DB_PORT"
}

# Settings every service reads; production talks to real AWS with the instance's credentials.
common_env() {
    # Outside the here-document, so that a failed secret lookup stops the bootstrap.
    local url
    url=$(database_url)
    cat <<ENV
ANB_DEV_MODE=false
ANB_DB_URL=$url
ANB_AWS_REGION=$ANB_REGION
ANB_AWS_ENDPOINT_URL=
ANB_AWS_ACCESS_KEY_ID=
ANB_AWS_SECRET_ACCESS_KEY=
ANB_AWS_BUCKET=$ANB_BUCKET
ANB_AWS_QUEUE_NAME=$ANB_QUEUE_NAME
ANB_AWS_DLQ_NAME=$ANB_DLQ_NAME
ENV
}

# write_env_file NAME: stdin becomes /etc/anb/NAME.env, readable by root only (systemd reads it
# before dropping privileges; the service itself never opens the file).
write_env_file() {
    local target="$ANB_ETC/$1.env"
    local staged
    staged=$(mktemp "$ANB_ETC/.env.XXXXXX")
    cat >"$staged"
    chmod 0600 "$staged"
    mv "$staged" "$target"
}

start_units() {
    systemctl daemon-reload
    systemctl enable --now "$@"
}
