"""Every word the web app shows comes from its catalogue: each key the templates and scripts use
exists in every language's file, every file has the same keys, and none is unused."""

from __future__ import annotations

import re
from pathlib import Path

from anb_gateway.web import i18n

WEB = Path(i18n.__file__).parent
# Keys built at run time from a value: a status, a notice's name, an error code.
DYNAMIC = ("status.", "notice.", "error.")


def _used() -> set[str]:
    used: set[str] = set()
    for template in (WEB / "templates").glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]*\w)["']""", template.read_text()))
    for script in (WEB / "static" / "js").glob("*.js"):
        used |= {f"js.{key}" for key in re.findall(r"""\bsay\(\s*["']([\w.]*\w)["']""", script.read_text())}
    return used


def test_every_used_key_is_in_every_catalogue() -> None:
    used = _used()
    assert used
    for locale, catalogue in i18n.CATALOGUES.items():
        assert used <= catalogue.keys(), (locale, sorted(used - catalogue.keys()))


def test_catalogues_have_the_same_keys_and_none_unused() -> None:
    default = i18n.CATALOGUES[i18n.DEFAULT_LOCALE].keys()
    for catalogue in i18n.CATALOGUES.values():
        assert catalogue.keys() == default
    used = _used()
    unused = {
        key
        for key in default
        if key not in used
        and not key.removeprefix("js.").startswith(DYNAMIC)
        and not key.startswith("format.")
    }
    assert unused == set()


def test_the_browsers_language_picks_the_catalogue() -> None:
    class Connection:
        def __init__(self, header: str) -> None:
            self.headers = {"accept-language": header}

    for header in ("es-CO", "es-MX,es;q=0.8", "en-US,es;q=0.5", "", "fr"):
        assert i18n.for_connection(Connection(header)).locale == "es-CO"  # type: ignore[arg-type]
