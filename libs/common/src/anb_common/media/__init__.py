"""Media handling shared by ingest and the transcoder (needs the ``media`` extra: PyAV).

Never imported by the gateway, which must not load FFmpeg.
"""

from anb_common.media.errors import MediaRejected
from anb_common.media.facts import MediaFacts
from anb_common.media.probe import clockwise_rotation, probe, stream_duration_s
from anb_common.media.rules import ACCEPTED_CODECS, MAX_FPS, check
from anb_common.media.safe_open import decoder_options, safe_open, sniff_file
from anb_common.media.sniff import SNIFF_BYTES, Container, sniff

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
