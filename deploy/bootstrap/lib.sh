#!/bin/bash
# Functions shared by web.sh and transcoder.sh. Sourced, never run: each script first sets
# `set -Eeuo pipefail` and `shopt -s inherit_errexit`, so that a failure anywhere (inside a function,
# inside `$(...)`) stops the bootstrap, and then calls bootstrap_begin.
#
# The launch template's user data wrote /etc/anb/stack.env (names, ARNs, endpoints; no secrets) and
# fetched the release into /opt/anb/release, every file checked against its SHA256SUMS. Nothing here
# reaches a package index: Python comes with the AMI (Debian 12), everything else from the release.

# Overridable only so that tests/deploy can run the scripts inside a scratch folder.
ANB_ROOT=${ANB_ROOT:-/opt/anb}
ANB_ETC=${ANB_ETC:-/etc/anb}
ANB_UNITS=${ANB_UNITS:-/etc/systemd/system}
ANB_RELEASE_DIR=$ANB_ROOT/release
# The CA bundle RDS's certificate must chain to (make dist RDS_CA_BUNDLE=...): every connection to the
# database requires TLS, that chain and the endpoint's name on the certificate (ANB_DB_SSL_ROOT_CERT).
ANB_RDS_CA_BUNDLE=$ANB_RELEASE_DIR/certs/rds-ca-bundle.pem
# AWS calls without an AWS CLI on the AMI: the release's standard-library helper (see its docstring).
ANB_BOOT=(python3 "$ANB_RELEASE_DIR/bootstrap/anb_boot.py")
# Set to true at the one point where the instance is known ready. The EXIT trap signals SUCCESS only
# then, and only with exit status 0: any other way out (an error, an early exit) signals FAILURE.
ANB_READY=false

log() {
    printf '%s anb-bootstrap: %s\n' "$(date -u +%FT%TZ)" "$*" >&2
}

bootstrap_begin() {
    trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR
    trap 'on_exit $?' EXIT
}

# Tell CloudFormation whether this instance came up: the creation and rolling-update policies wait
# for it, so a broken release stops the rollout instead of replacing every healthy instance.
on_exit() {
    local code=$1 status=FAILURE
    trap - ERR
    if [[ $code -eq 0 && $ANB_READY == true ]]; then
        status=SUCCESS
    else
        log "bootstrap failed (exit status $code); signalling FAILURE"
    fi
    "${ANB_BOOT[@]}" --region "${ANB_REGION:-}" signal "${ANB_STACK_NAME:-}" "${ANB_STACK_RESOURCE:-}" "$status" ||
        log "could not signal $status to CloudFormation"
    log "signalled $status"
    if [[ $status == FAILURE ]]; then
        exit $((code == 0 ? 1 : code))
    fi
}

# load_stack_env VAR...: stack.env into the environment; each named variable must be non-empty.
load_stack_env() {
    set -a
    # shellcheck disable=SC1091  # written by the user data at boot
    source "$ANB_ETC/stack.env"
    set +a
    local name
    for name in ANB_STACK_NAME ANB_STACK_RESOURCE ANB_REGION ANB_RELEASE_URI "$@"; do
        if [[ -z ${!name:-} ]]; then
            log "$ANB_ETC/stack.env has no value for $name"
            return 1
        fi
    done
}

# secret_value ARN [--field NAME]: the secret (or one field of its JSON); anb_boot.py refuses an empty
# one, and so does this function, so that `x=$(secret_value ...)` can never leave x empty.
secret_value() {
    local value
    value=$("${ANB_BOOT[@]}" --region "$ANB_REGION" secret "$@")
    if [[ -z $value ]]; then
        log "secret $1 is empty"
        return 1
    fi
    printf '%s' "$value"
}

# database_url SECRET_ARN: the SQLAlchemy URL of that database login (a secret with username and
# password). The generated password is alphanumeric (ExcludePunctuation), so it needs no URL escaping.
database_url() {
    local user password
    user=$(secret_value "$1" --field username)
    password=$(secret_value "$1" --field password)
    printf 'postgresql+asyncpg://%s:%s@%s:%s/anb' "$user" "$password" "$ANB_DB_HOST" "$ANB_DB_PORT"
}

# A second boot of an instance that already runs a release (or a retried bootstrap) replaces it:
# the units must not run from a virtualenv while it is rebuilt.
stop_units() {
    local unit
    for unit in "$@"; do
        if systemctl cat "$unit" >/dev/null 2>&1; then
            systemctl stop "$unit"
        fi
    done
}

# install_venv RELEASE NAME VENV: a fresh virtualenv holding exactly what requirements/anb-NAME.txt
# pins, from the release's wheelhouse and wheels only (--no-index: no package index at boot), each
# file checked against its hash. The requirements name our own wheels too, so pip also proves that
# the pins close the dependency tree. Debian's python3 has no ensurepip without python3-venv: pip
# runs from its wheel in the wheelhouse and is not installed into the environment.
install_venv() {
    local release=$1 name=$2 venv=$3
    local pips=("$release"/wheelhouse/pip-*.whl)
    python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
        log "python3 is not Python 3.11"
        return 1
    }
    rm -rf "$venv"
    python3 -m venv --without-pip "$venv"
    "$venv/bin/python" "${pips[0]}/pip" install --isolated --quiet --no-cache-dir --disable-pip-version-check \
        --no-index --only-binary=:all: --require-hashes \
        --find-links "$release/wheelhouse" --find-links "$release/wheels" \
        -r "$release/requirements/anb-$name.txt"
}

# install_service NAME: its system user, its virtualenv at /opt/anb/NAME, its unit.
install_service() {
    local name=$1
    if ! id "anb-$name" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "anb-$name"
    fi
    install_venv "$ANB_RELEASE_DIR" "$name" "$ANB_ROOT/$name"
    install -m 0644 "$ANB_RELEASE_DIR/systemd/anb-$name.service" "$ANB_UNITS/anb-$name.service"
}

# service_env NAME: the settings every service reads, with NAME's own database login and pool
# (ANB_<NAME>_DB_SECRET_ARN, ANB_<NAME>_DB_POOL_SIZE and ANB_<NAME>_DB_MAX_OVERFLOW from stack.env, which
# the template fills from its DatabasePools budget). Production talks to AWS's endpoints with the
# instance's credentials; AWS_ENDPOINT_URL is the SDKs' own override, set only by the rehearsal.
service_env() {
    local upper=${1^^}
    local secret="ANB_${upper}_DB_SECRET_ARN" pool="ANB_${upper}_DB_POOL_SIZE" overflow="ANB_${upper}_DB_MAX_OVERFLOW"
    local url release
    url=$(database_url "${!secret}")
    release=$(<"$ANB_RELEASE_DIR/RELEASE")
    rds_ca_bundle
    cat <<ENV
ANB_DEV_MODE=false
ANB_RELEASE=$ANB_RELEASE_VERSION
ANB_RELEASE_COMMIT=$release
ANB_DB_URL=$url
ANB_DB_SSL_ROOT_CERT=$ANB_RDS_CA_BUNDLE
ANB_DB_POOL_SIZE=${!pool}
ANB_DB_MAX_OVERFLOW=${!overflow}
ANB_AWS_REGION=$ANB_REGION
ANB_AWS_ENDPOINT_URL=${AWS_ENDPOINT_URL:-}
ANB_AWS_ACCESS_KEY_ID=
ANB_AWS_SECRET_ACCESS_KEY=
ANB_AWS_BUCKET=$ANB_BUCKET
ANB_AWS_QUEUE_NAME=$ANB_QUEUE_NAME
ANB_AWS_DLQ_NAME=$ANB_DLQ_NAME
ANB_METRICS_PUBLISH=true
ENV
    endpoint_env
}

# rds_ca_bundle: the release carries the bundle (never connect to the database unverified).
rds_ca_bundle() {
    if [[ ! -s $ANB_RDS_CA_BUNDLE ]]; then
        log "the release has no RDS CA bundle ($ANB_RDS_CA_BUNDLE): built without make dist RDS_CA_BUNDLE=..."
        return 1
    fi
}

# The SDKs' endpoint overrides this bootstrap was given (the rehearsal's only), for a unit's env file.
endpoint_env() {
    local name
    for name in "${!AWS_ENDPOINT_URL@}"; do
        printf '%s=%s\n' "$name" "${!name}"
    done
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

# unit_stayed_up UNIT: active and never restarted since it was started by this bootstrap.
unit_stayed_up() {
    local restarts
    restarts=$(systemctl show --property=NRestarts --value "$1")
    systemctl is-active --quiet "$1" && [[ $restarts == 0 ]]
}

# start_log_shipping UNIT=GROUP...: this host's journal to CloudWatch Logs, each unit's lines to its
# group, one stream per instance (anb_logship.py run by anb-logship.service, both in this folder: the
# host's agent, as the CloudWatch agent would be, which has no Debian package; nothing is downloaded
# at boot; the platform's services are the units of systemd/). Started before anything else can fail, so the
# boot's own output (cloud-final.service, which runs the user data) reaches the bootstrap group even
# when this boot fails; a restart keeps its cursor (RuntimeDirectoryPreserve), a new boot ships its
# journal from the start.
start_log_shipping() {
    if ! id anb-logship >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin anb-logship
    fi
    install -d -m 0755 "$ANB_ROOT/logship" "$ANB_ROOT/logship/bin"
    install -m 0755 "$ANB_RELEASE_DIR/bootstrap/anb_logship.py" "$ANB_ROOT/logship/bin/anb-logship"
    install -m 0644 "$ANB_RELEASE_DIR/bootstrap/anb_boot.py" "$ANB_ROOT/logship/bin/anb_boot.py"
    install -m 0644 "$ANB_RELEASE_DIR/bootstrap/anb-logship.service" "$ANB_UNITS/anb-logship.service"
    write_env_file logship <<ENV
ANB_REGION=$ANB_REGION
ANB_LOGSHIP_ROUTES=$*
$(endpoint_env)
ENV
    systemctl daemon-reload
    systemctl enable anb-logship.service
    systemctl restart anb-logship.service
}
