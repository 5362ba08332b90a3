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


def _is_section(annotation: object) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, BaseSettings)


def _variables() -> list[tuple[type[BaseSettings], str]]:
    """Every (settings class, field) that is one environment variable, in module order.

    A service's composite settings hold sections (listed under their own classes) and may hold
    variables of their own, such as the gateway's ``ingest_url``: those are listed too.
    """
    found: dict[tuple[str, str], tuple[type[BaseSettings], str]] = {}
    for module_name in _MODULES:
        module = importlib.import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, BaseSettings) or cls is BaseSettings or cls.__module__ != module_name:
                continue
            for name, field in cls.model_fields.items():
                # A field a service inherits (ANB_RELEASE) is listed once, under the class that declares it.
                declared = name in vars(cls).get("__annotations__", {})
                if declared and not _is_section(field.annotation):
                    found[(f"{module_name}.{cls.__name__}", name)] = (cls, name)
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
    for cls, name in _variables():
        variable = f"{cls.model_config.get('env_prefix', '')}{name}".upper()
        description = " ".join((cls.model_fields[name].description or "").split()).replace("|", "\\|")
        lines.append(f"| `{variable}` | {_default(cls, name)} | {description} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
