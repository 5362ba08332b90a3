"""The URIs inside a stored HLS playlist or WebVTT storyboard, and the same text with each replaced.

The transcoder names the files beside a playlist (``#EXT-X-MAP`` init segment, media segments) and the
sprite beside a storyboard (``sprite.jpg#xywh=…``) by relative URIs. A player resolves those against
the address it fetched the text from, which is the gateway's, not storage's: so the gateway replaces
each with a link of its own making (a presigned one). Pure functions: the caller reads the text,
makes the links and serves the result.

A URI is taken only as a plain name in the text's own folder; anything else (a path out of the
folder, an absolute URL) is not something the transcoder writes, and is refused with ValueError
rather than linked.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping

_ATTRIBUTE_URI = re.compile(r'URI="([^"]*)"')
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CUE_TIMING = "-->"


def key_beside(text_key: str, uri: str) -> str:
    """The storage key of ``uri`` as written in the object ``text_key``: a name in its folder."""
    if not _PLAIN_NAME.fullmatch(uri):
        raise ValueError(f"{text_key} names {uri!r}, not a file beside it")
    return posixpath.join(posixpath.dirname(text_key), uri)


# --- HLS (RFC 8216 section 4.1: a URI line, or a URI attribute of a tag) ---------------------------


def playlist_uris(text: str) -> list[str]:
    """Every URI of a playlist in order of appearance, each once."""
    found: dict[str, None] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            found.update(dict.fromkeys(_ATTRIBUTE_URI.findall(line)))
        elif line.strip():
            found[line.strip()] = None
    return list(found)


def rewrite_playlist(text: str, links: Mapping[str, str]) -> str:
    """``text`` with each URI replaced by ``links[uri]``."""

    def attribute(match: re.Match[str]) -> str:
        return f'URI="{links[match[1]]}"'

    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            lines.append(_ATTRIBUTE_URI.sub(attribute, line))
        elif line.strip():
            lines.append(links[line.strip()])
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


# --- WebVTT (a cue: an optional identifier, the timing line, then its payload) --------------------


def _payload_lines(text: str) -> list[tuple[int, str, str]]:
    """(line index, URI, fragment with its '#' or '') of each cue payload line."""
    lines = text.splitlines()
    found = []
    in_cue = False
    for index, line in enumerate(lines):
        if not line.strip():
            in_cue = False
        elif _CUE_TIMING in line:
            in_cue = True
        elif in_cue:
            uri, hash_sign, fragment = line.strip().partition("#")
            found.append((index, uri, hash_sign + fragment))
    return found


def storyboard_uris(text: str) -> list[str]:
    """The files a storyboard's cues point into (the sprite), each once."""
    return list(dict.fromkeys(uri for _, uri, _ in _payload_lines(text)))


def rewrite_storyboard(text: str, links: Mapping[str, str]) -> str:
    """``text`` with each cue's URI replaced by ``links[uri]``, its fragment (``#xywh=…``) kept."""
    lines = text.splitlines()
    for index, uri, fragment in _payload_lines(text):
        lines[index] = links[uri] + fragment
    return "\n".join(lines) + "\n"


Rewrite = Callable[[str, Mapping[str, str]], str]
"""A rewrite function: the text and its URIs' links."""
