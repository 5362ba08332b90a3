"""The configuration table of the README, generated from the settings classes themselves.

``python -m anb_devstack.configdoc`` prints it; a test keeps the README's copy identical, so the table
cannot drift from the code.
"""

from __future__ import annotations

import importlib
import inspect

from pydantic_settings import BaseSettings

_MODULES = (
    "anb_common.settings",
    "anb_gateway.settings",
    "anb_ingest.settings",
    "anb_transcoder.settings",
)
_SECRET_DEFAULTS = {"access_key_id", "secret_access_key"}


def _sections() -> list[type[BaseSettings]]:
    found: dict[str, type[BaseSettings]] = {}
    for name in _MODULES:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, BaseSettings) or cls is BaseSettings:
                continue
            # Composite settings (a service's whole configuration) hold sections, not variables.
            composite = any(
                inspect.isclass(field.annotation) and issubclass(field.annotation, BaseSettings)
                for field in getattr(cls, "model_fields", {}).values()
            )
            if not composite and cls.__module__ == name:
                found[f"{name}.{cls.__name__}"] = cls
    return list(found.values())


def _default(cls: type[BaseSettings], name: str) -> str:
    field = cls.model_fields[name]
    if name in _SECRET_DEFAULTS:
        return "`testing` (moto)"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "(unset)"
    if hasattr(value, "get_secret_value"):
        return "(secret)"
    return f"`{value}`"


def table() -> str:
    lines = ["| variable | default | what it sets |", "|---|---|---|"]
    for cls in _sections():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, field in cls.model_fields.items():
            variable = f"{prefix}{name}".upper()
            description = " ".join((field.description or "").split()).replace("|", "\\|")
            lines.append(f"| `{variable}` | {_default(cls, name)} | {description} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
