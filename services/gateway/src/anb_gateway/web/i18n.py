"""Every word the web app shows, from one catalogue per language (``locales/<tag>.json``).

Templates call ``t("key", name=value)``; scripts get the keys under ``js.`` rendered into the page
as data. Adding a language is adding a file with the same keys (a test compares the key sets) and
nothing else: the request's ``Accept-Language`` picks among the files, es-CO when none matches.
What the API itself answers (a refusal's ``detail``) is already Spanish, from ``anb_gateway.wording``,
and is shown as the API wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from litestar.connection import ASGIConnection

LOCALES = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "es-CO"
_SCRIPT_PREFIX = "js."


class Catalogue:
    def __init__(self, locale: str, messages: Mapping[str, str]) -> None:
        self.locale = locale
        self.language = locale.split("-", 1)[0]
        self._messages = dict(messages)
        self._thousands = self._messages["format.thousands"]
        self.script_messages = {
            key.removeprefix(_SCRIPT_PREFIX): text
            for key, text in self._messages.items()
            if key.startswith(_SCRIPT_PREFIX)
        }

    def __call__(self, key: str, /, **values: Any) -> str:
        message = self._messages[key]
        return message.format(**values) if values else message

    def keys(self) -> set[str]:
        return set(self._messages)

    def number(self, value: int) -> str:
        return f"{value:,}".replace(",", self._thousands)


def _load(path: Path) -> Catalogue:
    return Catalogue(path.stem, json.loads(path.read_text(encoding="utf-8")))


CATALOGUES: dict[str, Catalogue] = {path.stem: _load(path) for path in sorted(LOCALES.glob("*.json"))}
_BY_LANGUAGE = {catalogue.language: catalogue for catalogue in reversed(list(CATALOGUES.values()))}


def for_connection(connection: ASGIConnection[Any, Any, Any, Any]) -> Catalogue:
    """The catalogue the browser prefers (``Accept-Language`` in its order, q-values aside)."""
    header = connection.headers.get("accept-language", "")
    for part in header.split(","):
        tag = part.split(";", 1)[0].strip()
        if not tag:
            continue
        for known, catalogue in CATALOGUES.items():
            if known.lower() == tag.lower():
                return catalogue
        if (by_language := _BY_LANGUAGE.get(tag.split("-", 1)[0].lower())) is not None:
            return by_language
    return CATALOGUES[DEFAULT_LOCALE]
