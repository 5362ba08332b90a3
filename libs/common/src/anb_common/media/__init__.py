"""Media handling shared by ingest and the transcoder (needs the ``media`` extra: PyAV).

Never imported by the gateway, which must not load FFmpeg.
"""

from anb_common.media.errors import MediaRejected
from anb_common.media.probe import MediaFacts, clockwise_rotation, probe, stream_duration_s
from anb_common.media.rules import ACCEPTED_CODECS, check
from anb_common.media.safe_open import safe_open, sniff_file
from anb_common.media.sniff import SNIFF_BYTES, Container, sniff

__all__ = [
    "ACCEPTED_CODECS",
    "SNIFF_BYTES",
    "Container",
    "MediaFacts",
    "MediaRejected",
    "check",
    "clockwise_rotation",
    "probe",
    "safe_open",
    "sniff",
    "sniff_file",
    "stream_duration_s",
]
