"""Media handling shared by ingest and the transcoder (needs the ``media`` extra: PyAV).

Never imported by the gateway, which must not load FFmpeg. The plain parts (facts, rules, sniffing,
the error) load with the package; what needs PyAV (``opening``, ``probing``) loads on first use of
one of its names, so that ingest's request-serving process, which probes in child processes, never
maps a decoder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from anb_common.media.errors import MediaRejected
from anb_common.media.facts import MediaFacts
from anb_common.media.rules import ACCEPTED_CODECS, MAX_FPS, check
from anb_common.media.sniff import SNIFF_BYTES, Container, sniff

if TYPE_CHECKING:
    from anb_common.media.opening import decoder_options, safe_open, sniff_file
    from anb_common.media.probing import clockwise_rotation, probe, stream_duration_s

_WITH_PYAV = {
    "decoder_options": "opening",
    "safe_open": "opening",
    "sniff_file": "opening",
    "clockwise_rotation": "probing",
    "probe": "probing",
    "stream_duration_s": "probing",
}

__all__ = [
    "ACCEPTED_CODECS",
    "MAX_FPS",
    "SNIFF_BYTES",
    "Container",
    "MediaFacts",
    "MediaRejected",
    "check",
    "clockwise_rotation",
    "decoder_options",
    "probe",
    "safe_open",
    "sniff",
    "sniff_file",
    "stream_duration_s",
]


def __getattr__(name: str) -> Any:
    module = _WITH_PYAV.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
