from __future__ import annotations

from pathlib import Path

from anb_devstack.configdoc import table

README = Path(__file__).parents[2] / "README.md"


def test_readme_lists_every_setting_as_the_code_defines_it() -> None:
    generated = table()
    assert generated in README.read_text(), (
        "README.md's configuration table is stale: paste `uv run python -m anb_devstack.configdoc`"
    )


def test_every_variable_is_namespaced() -> None:
    rows = [line for line in table().splitlines() if line.startswith("| `")]
    assert rows
    assert all(row.startswith("| `ANB_") for row in rows)
