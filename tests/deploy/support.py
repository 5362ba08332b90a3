"""Paths and template loading shared by the deploy tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
TEMPLATES = sorted((DEPLOY / "cloudformation").glob("*.yaml"))
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
SCRIPTS = sorted([*(DEPLOY / "bootstrap").glob("*.sh"), *DEPLOY.glob("*.sh")])

# The planner lives in deploy/capacity (run with PYTHONPATH=deploy/capacity by `make capacity`).
sys.path.insert(0, str(DEPLOY / "capacity"))


def load_template(name: str) -> dict[str, Any]:
    """A template as plain dicts and lists, short-form tags expanded (!Ref -> {"Ref": ...})."""
    loaded: dict[str, Any] = cfn_yaml.load(str(DEPLOY / "cloudformation" / name))
    return loaded
