"""shellcheck passes on the bootstrap scripts, the publish script and the launch templates' user data;
the bootstrap scripts run under bash with a failing step signal FAILURE to CloudFormation, never
SUCCESS, and with every step passing signal SUCCESS once.

The bootstrap runs happen in a scratch root (ANB_ROOT, ANB_ETC, ANB_UNITS) with stubs first on PATH:
``anb_boot.py`` (secrets, seeding, signals, health waits: what reaches AWS), ``systemctl``,
``runuser``, ``id``, ``sleep`` and a ``python3`` that fakes virtualenvs, so nothing touches this
machine's services or users. The stubs record every call; the assertions read the signals recorded.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .support import DEPLOY, SCRIPTS
from .test_units import HARDENING, _service_section


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_passes(debian_tool: Callable[[str, str], str], script: Path) -> None:
    shellcheck = debian_tool("shellcheck", "shellcheck")
    result = subprocess.run(
        [shellcheck, "--external-sources", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("group", ["WebLaunchTemplate", "WorkerLaunchTemplate"])
def test_user_data_passes_shellcheck(
    debian_tool: Callable[[str, str], str], platform_template: dict[str, Any], group: str, tmp_path: Path
) -> None:
    shellcheck = debian_tool("shellcheck", "shellcheck")
    data = platform_template["Resources"][group]["Properties"]["LaunchTemplateData"]["UserData"]
    body, _variables = data["Fn::Base64"]["Fn::Sub"]
    # What CloudFormation substitutes becomes plain words, as on the instance.
    script = re.sub(r"\$\{([\w:.]+)\}", lambda m: m.group(1).replace(":", "-").replace(".", "-"), body)
    path = tmp_path / "user-data.sh"
    path.write_text(script)
    result = subprocess.run([shellcheck, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_every_script_stops_on_errors() -> None:
    for script in SCRIPTS:
        text = script.read_text()
        if script.name != "lib.sh":
            assert "set -Eeuo pipefail" in text or "set -euo pipefail" in text, script.name
    # The bootstrap: ERR traps inside functions (-E), errors inside $(...) stop it (inherit_errexit).
    for name in ("web.sh", "transcoder.sh"):
        text = (DEPLOY / "bootstrap" / name).read_text()
        assert "set -Eeuo pipefail" in text, name
        assert "shopt -s inherit_errexit" in text, name


BOOT_STUB = """\
import json, os, sys
args = sys.argv[1:]
if args[0] == "--region":
    args = args[2:]
with open(os.environ["STUB_LOG"], "a") as log:
    log.write(json.dumps(["anb_boot", *args]) + "\\n")
scenario = json.loads(os.environ["STUB_SCENARIO"])
command = args[0]
if command == "secret":
    key = args[1] + (":" + args[3] if len(args) > 3 else "")
    value = scenario.get("secrets", {}).get(key, "value-of-" + key.replace(":", "-"))
    if value is None:
        print("anb_boot.py secret: AccessDeniedException", file=sys.stderr)
        sys.exit(1)
    print(value)
elif command == "wait-http":
    sys.exit(scenario.get("health_exit", 0))
"""

VENV_PYTHON = """\
#!/bin/bash
echo "venv-python $*" >>"$STUB_LOG"
case "$*" in
    *migrate_once.py*) env | grep -E '^ANB_DB_(URL|ROLE_|SSL_)' | sort >"$STUB_LOG.migrate-env" ;;
esac
exit 0
"""

PYTHON3 = """\
#!/bin/bash
# Fakes `python3 -m venv` (a stub interpreter); everything else is the real Python.
if [[ $1 == -m && $2 == venv ]]; then
    venv=${*: -1}
    mkdir -p "$venv/bin"
    cp "$STUB_VENV_PYTHON" "$venv/bin/python"
    exit 0
fi
exec REAL_PYTHON "$@"
"""

SYSTEMCTL = """\
#!/bin/bash
echo "systemctl $*" >>"$STUB_LOG"
case "$1" in
    cat) exit 1 ;;
    show) echo "${STUB_RESTARTS:-0}" ;;
    # Starting a Type=notify unit returns once it sent READY=1, or fails past TimeoutStartSec.
    enable) [[ $2 != --now ]] || exit "${STUB_START_EXIT:-0}" ;;
esac
exit 0
"""

STACK_ENV = {
    "ANB_STACK_NAME": "anb",
    "ANB_REGION": "eu-west-1",
    "ANB_RELEASE_URI": "s3://artifacts/releases/r1",
    "ANB_RELEASE_VERSION": "r1",
    "ANB_BUCKET": "videos",
    "ANB_QUEUE_NAME": "processing-queue",
    "ANB_DLQ_NAME": "processing-queue-dlq",
    "ANB_DB_HOST": "db.internal",
    "ANB_DB_PORT": "5432",
    "ANB_DB_SECRET_ARN": "db-secret",
    "ANB_GATEWAY_DB_SECRET_ARN": "gateway-db-secret",
    "ANB_INGEST_DB_SECRET_ARN": "ingest-db-secret",
    "ANB_TRANSCODER_DB_SECRET_ARN": "transcoder-db-secret",
    "ANB_GATEWAY_DB_POOL_SIZE": "4",
    "ANB_GATEWAY_DB_MAX_OVERFLOW": "5",
    "ANB_INGEST_DB_POOL_SIZE": "3",
    "ANB_INGEST_DB_MAX_OVERFLOW": "6",
    "ANB_TRANSCODER_DB_POOL_SIZE": "2",
    "ANB_TRANSCODER_DB_MAX_OVERFLOW": "1",
    "ANB_JWT_SECRET_ARN": "jwt-secret",
    "ANB_INTERNAL_SECRET_ARN": "internal-secret",
    "ANB_GATEWAY_ROLE_ARN": "arn:aws:iam::123456789012:role/gateway",
    "ANB_INGEST_ROLE_ARN": "arn:aws:iam::123456789012:role/ingest",
    "ANB_TRUSTED_PROXIES": "10.20.0.0/20,10.20.16.0/20",
    "ANB_LOG_GROUP_GATEWAY": "/anb/anb/gateway",
    "ANB_LOG_GROUP_INGEST": "/anb/anb/ingest",
    "ANB_LOG_GROUP_TRANSCODER": "/anb/anb/transcoder",
    "ANB_LOG_GROUP_BOOTSTRAP": "/anb/anb/bootstrap",
    "ANB_WORKER_GRACE_S": "240",
}


def _stub(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _run(
    tmp_path: Path,
    script: str,
    scenario: dict[str, object],
    stack: dict[str, str] | None = None,
    *,
    bundle: bool = True,
    **env: str,
) -> tuple[int, list[str], str]:
    """Runs deploy/bootstrap/SCRIPT as the user data would; returns its status, the signals sent and
    its stderr. ``bundle``: the release carries the RDS CA bundle."""
    root, etc, units, stubs = (tmp_path / n for n in ("opt", "etc", "units", "stubs"))
    release = root / "release"
    for folder in (etc, units, stubs, release / "resources", release / "certs"):
        folder.mkdir(parents=True)
    if bundle:
        (release / "certs" / "rds-ca-bundle.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    shutil.copytree(DEPLOY / "bootstrap", release / "bootstrap")
    shutil.copytree(DEPLOY / "systemd", release / "systemd")
    (release / "bootstrap" / "anb_boot.py").write_text(BOOT_STUB)
    (release / "RELEASE").write_text("abc123\n")
    role = "WebGroup" if script == "web.sh" else "WorkerGroup"
    (etc / "stack.env").write_text(
        "".join(f"{k}={v}\n" for k, v in {**STACK_ENV, "ANB_STACK_RESOURCE": role, **(stack or {})}.items())
    )
    real_python = shutil.which("python3")
    assert real_python
    _stub(stubs / "python3", PYTHON3.replace("REAL_PYTHON", real_python))
    _stub(stubs / "venv-python", VENV_PYTHON)
    _stub(stubs / "systemctl", SYSTEMCTL)
    _stub(stubs / "runuser", '#!/bin/bash\nshift 3\nexec "$@"\n')
    _stub(stubs / "id", "#!/bin/bash\nexit 0\n")
    _stub(stubs / "sleep", "#!/bin/bash\nexit 0\n")
    log = tmp_path / "calls.log"
    result = subprocess.run(
        ["bash", str(release / "bootstrap" / script)],
        env={
            "PATH": f"{stubs}:{os.environ['PATH']}",
            "ANB_ROOT": str(root),
            "ANB_ETC": str(etc),
            "ANB_UNITS": str(units),
            "STUB_LOG": str(log),
            "STUB_SCENARIO": json.dumps(scenario),
            "STUB_VENV_PYTHON": str(stubs / "venv-python"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("[")]
    signals = [call[-1] for call in calls if call[1] == "signal"]
    for call in calls:
        if call[1] == "signal":
            assert call[2:4] == ["anb", role], call
    return result.returncode, signals, result.stderr


@pytest.mark.parametrize(
    ("script", "scenario"),
    [
        ("web.sh", {"secrets": {"jwt-secret": None}}),
        ("web.sh", {"secrets": {"internal-secret": ""}}),
        ("web.sh", {"secrets": {"db-secret:password": ""}}),
        ("web.sh", {"secrets": {"gateway-db-secret:username": None}}),
        ("web.sh", {"secrets": {"ingest-db-secret:password": ""}}),
        ("web.sh", {"secrets": {"transcoder-db-secret:password": None}}),
        ("web.sh", {"health_exit": 1}),
        ("transcoder.sh", {"secrets": {"transcoder-db-secret:username": None}}),
        ("transcoder.sh", {"secrets": {"transcoder-db-secret:password": ""}}),
    ],
    ids=[
        "web-secret-unreadable",
        "web-secret-empty",
        "web-master-password-empty",
        "web-gateway-login-unreadable",
        "web-ingest-password-empty",
        "web-transcoder-password-unreadable",
        "web-never-healthy",
        "worker-db-secret-unreadable",
        "worker-db-password-empty",
    ],
)
def test_a_failing_step_signals_failure_never_success(
    tmp_path: Path, script: str, scenario: dict[str, object]
) -> None:
    status, signals, stderr = _run(tmp_path, script, scenario)
    assert status != 0, stderr
    assert signals == ["FAILURE"], stderr


@pytest.mark.parametrize("script", ["web.sh", "transcoder.sh"])
def test_a_service_that_never_gets_ready_signals_failure(tmp_path: Path, script: str) -> None:
    status, signals, stderr = _run(tmp_path, script, {}, STUB_START_EXIT="1")
    assert status != 0
    assert signals == ["FAILURE"], stderr


def test_a_worker_restarting_under_systemd_signals_failure(tmp_path: Path) -> None:
    status, signals, stderr = _run(tmp_path, "transcoder.sh", {}, STUB_RESTARTS="1")
    assert status != 0
    assert signals == ["FAILURE"], stderr


def test_a_stack_value_left_empty_signals_failure(tmp_path: Path) -> None:
    status, signals, stderr = _run(tmp_path, "web.sh", {}, stack={"ANB_DB_HOST": ""})
    assert status != 0
    assert signals == ["FAILURE"], stderr
    assert "no value for ANB_DB_HOST" in stderr


@pytest.mark.parametrize("script", ["web.sh", "transcoder.sh"])
def test_every_step_passing_signals_success_once(tmp_path: Path, script: str) -> None:
    status, signals, stderr = _run(tmp_path, script, {})
    assert status == 0, stderr
    assert signals == ["SUCCESS"], stderr


def _env_file(tmp_path: Path, name: str) -> dict[str, str]:
    lines = (tmp_path / "etc" / f"{name}.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _url(service: str) -> str:
    return (
        f"postgresql+asyncpg://value-of-{service}-username:value-of-{service}-password@db.internal:5432/anb"
    )


def test_each_web_service_logs_in_with_its_own_secret_and_pool(tmp_path: Path) -> None:
    status, _signals, stderr = _run(tmp_path, "web.sh", {})
    assert status == 0, stderr
    gateway, ingest = _env_file(tmp_path, "gateway"), _env_file(tmp_path, "ingest")
    assert gateway["ANB_DB_URL"] == _url("gateway-db-secret")
    assert (gateway["ANB_DB_POOL_SIZE"], gateway["ANB_DB_MAX_OVERFLOW"]) == ("4", "5")
    assert gateway["ANB_TRUSTED_PROXIES"] == "10.20.0.0/20,10.20.16.0/20"
    assert gateway["ANB_HTTP_PRESIGN_EXPIRY_S"] == "600"
    assert gateway["ANB_DEV_MODE"] == "false"
    assert gateway["ANB_METRICS_PUBLISH"] == ingest["ANB_METRICS_PUBLISH"] == "true"
    assert ingest["ANB_DB_URL"] == _url("ingest-db-secret")
    assert (ingest["ANB_DB_POOL_SIZE"], ingest["ANB_DB_MAX_OVERFLOW"]) == ("3", "6")
    # Role chaining is capped at one hour: no duration is asked for (the default is that hour).
    config = (tmp_path / "etc" / "aws-config").read_text()
    assert "duration_seconds" not in config
    assert config.count("credential_source = Ec2InstanceMetadata") == 2


def test_the_migration_runs_as_the_master_with_each_role_password(tmp_path: Path) -> None:
    status, _signals, stderr = _run(tmp_path, "web.sh", {})
    assert status == 0, stderr
    env = dict(line.split("=", 1) for line in (tmp_path / "calls.log.migrate-env").read_text().splitlines())
    assert env == {
        "ANB_DB_URL": _url("db-secret"),
        "ANB_DB_SSL_ROOT_CERT": str(tmp_path / "opt/release/certs/rds-ca-bundle.pem"),
        "ANB_DB_ROLE_GATEWAY_PASSWORD": "value-of-gateway-db-secret-password",
        "ANB_DB_ROLE_INGEST_PASSWORD": "value-of-ingest-db-secret-password",
        "ANB_DB_ROLE_TRANSCODER_PASSWORD": "value-of-transcoder-db-secret-password",
    }
    # The master login reaches the migration only: no service's env file holds it.
    for name in ("gateway", "ingest"):
        assert "value-of-db-secret" not in (tmp_path / "etc" / f"{name}.env").read_text()


@pytest.mark.parametrize("script", ["web.sh", "transcoder.sh"])
def test_every_database_connection_verifies_the_release_rds_bundle(tmp_path: Path, script: str) -> None:
    status, _signals, stderr = _run(tmp_path, script, {})
    assert status == 0, stderr
    for name in ("gateway", "ingest") if script == "web.sh" else ("transcoder",):
        bundle = _env_file(tmp_path, name)["ANB_DB_SSL_ROOT_CERT"]
        assert bundle == str(tmp_path / "opt/release/certs/rds-ca-bundle.pem")


@pytest.mark.parametrize("script", ["web.sh", "transcoder.sh"])
def test_a_release_without_the_rds_bundle_signals_failure(tmp_path: Path, script: str) -> None:
    status, signals, stderr = _run(tmp_path, script, {}, bundle=False)
    assert status != 0
    assert signals == ["FAILURE"], stderr
    assert "no RDS CA bundle" in stderr
    assert not (tmp_path / "etc" / ("ingest.env" if script == "web.sh" else "transcoder.env")).exists()


def test_the_worker_reads_only_its_own_database_login(tmp_path: Path) -> None:
    status, _signals, stderr = _run(tmp_path, "transcoder.sh", {})
    assert status == 0, stderr
    transcoder = _env_file(tmp_path, "transcoder")
    assert transcoder["ANB_DB_URL"] == _url("transcoder-db-secret")
    assert (transcoder["ANB_DB_POOL_SIZE"], transcoder["ANB_DB_MAX_OVERFLOW"]) == ("2", "1")
    assert transcoder["ANB_METRICS_PUBLISH"] == "true"
    read = {
        json.loads(line)[2]
        for line in (tmp_path / "calls.log").read_text().splitlines()
        if line.startswith('["anb_boot", "secret"')
    }
    assert read == {"transcoder-db-secret"}


@pytest.mark.parametrize(
    ("script", "routes"),
    [
        (
            "web.sh",
            "anb-gateway.service=/anb/anb/gateway anb-ingest.service=/anb/anb/ingest "
            "cloud-final.service=/anb/anb/bootstrap anb-logship.service=/anb/anb/bootstrap",
        ),
        (
            "transcoder.sh",
            "anb-transcoder.service=/anb/anb/transcoder "
            "cloud-final.service=/anb/anb/bootstrap anb-logship.service=/anb/anb/bootstrap",
        ),
    ],
)
def test_logs_are_shipped_before_anything_can_fail(tmp_path: Path, script: str, routes: str) -> None:
    # Even a boot that fails at its first secret has its output in the bootstrap group.
    scenario = {"secrets": {"jwt-secret" if script == "web.sh" else "transcoder-db-secret:username": None}}
    status, signals, _stderr = _run(tmp_path, script, scenario)
    assert (status != 0, signals) == (True, ["FAILURE"])
    assert _env_file(tmp_path, "logship")["ANB_LOGSHIP_ROUTES"] == routes
    assert (tmp_path / "units" / "anb-logship.service").is_file()
    assert os.access(tmp_path / "opt" / "logship" / "bin" / "anb-logship", os.X_OK)
    calls = (tmp_path / "calls.log").read_text()
    assert "systemctl restart anb-logship.service" in calls
    assert calls.index("systemctl restart anb-logship.service") < calls.index('"secret"')


def test_the_log_shipper_unit_verifies_and_is_hardened_like_the_services(
    debian_tool: Callable[[str, str], str], tmp_path: Path
) -> None:
    """anb-logship.service lives with the bootstrap that installs it (the host's agent, not one of the
    platform's services in deploy/systemd), and is held to what test_units.py holds those to."""
    analyze = debian_tool("systemd-analyze", "systemd")
    unit = DEPLOY / "bootstrap" / "anb-logship.service"
    service = _service_section(unit)
    assert (service["User"], service["Restart"]) == ("anb-logship", "on-failure")
    assert service["EnvironmentFile"] == "/etc/anb/logship.env"
    assert service["ExecStart"] == "/opt/anb/logship/bin/anb-logship"
    for key, value in HARDENING.items():
        assert service[key] == value, key
    assert service["MemoryMax"]
    # It reads the journal and nothing on disk is writable: its cursor lives in /run until a reboot.
    assert service["SupplementaryGroups"] == "systemd-journal"
    assert not {k for k in service if k in {"ReadWritePaths", "CacheDirectory", "StateDirectory"}}
    assert (service["RuntimeDirectory"], service["RuntimeDirectoryPreserve"]) == ("anb-logship", "yes")
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(unit, tmp_path / "etc/systemd/system" / unit.name)
    executable = tmp_path / "opt/anb/logship/bin/anb-logship"
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    result = subprocess.run(
        [analyze, "verify", f"--root={tmp_path}", unit.name], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
