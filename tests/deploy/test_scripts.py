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
    *ready_transcoder.py*) exit "${STUB_PROBE_EXIT:-0}" ;;
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
    "ANB_JWT_SECRET_ARN": "jwt-secret",
    "ANB_INTERNAL_SECRET_ARN": "internal-secret",
    "ANB_GATEWAY_ROLE_ARN": "arn:aws:iam::123456789012:role/gateway",
    "ANB_INGEST_ROLE_ARN": "arn:aws:iam::123456789012:role/ingest",
    "ANB_WORKER_GRACE_S": "240",
}


def _stub(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _run(
    tmp_path: Path, script: str, scenario: dict[str, object], stack: dict[str, str] | None = None, **env: str
) -> tuple[int, list[str], str]:
    """Runs deploy/bootstrap/SCRIPT as the user data would; returns its status, the signals sent and
    its stderr."""
    root, etc, units, stubs = (tmp_path / n for n in ("opt", "etc", "units", "stubs"))
    release = root / "release"
    for folder in (etc, units, stubs, release / "resources"):
        folder.mkdir(parents=True)
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
        ("web.sh", {"health_exit": 1}),
        ("transcoder.sh", {"secrets": {"db-secret:username": None}}),
        ("transcoder.sh", {"secrets": {"db-secret:password": ""}}),
    ],
    ids=[
        "web-secret-unreadable",
        "web-secret-empty",
        "web-db-password-empty",
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


def test_a_worker_that_never_gets_ready_signals_failure(tmp_path: Path) -> None:
    status, signals, stderr = _run(tmp_path, "transcoder.sh", {}, STUB_PROBE_EXIT="1")
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
    env = (tmp_path / "etc" / f"{script.removesuffix('.sh').replace('web', 'gateway')}.env").read_text()
    assert (
        "ANB_DB_URL=postgresql+asyncpg://value-of-db-secret-username:value-of-db-secret-password@db.internal:5432/anb"
        in env
    )
    assert "ANB_DEV_MODE=false" in env
