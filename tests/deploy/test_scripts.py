"""shellcheck passes on the bootstrap scripts, the publish script and the launch templates' user data."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .support import SCRIPTS


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
            assert "set -euo pipefail" in text, script.name
