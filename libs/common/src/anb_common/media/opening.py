"""Open a local upload with PyAV so that nothing inside it can make FFmpeg read another file or URL.

What actually protects: the demuxer is pinned to the sniffed container (mov or matroska), so FFmpeg
never probes its way into the hls, concat, or similar demuxers that follow references; neither
pinned demuxer opens other resources, except MOV data references, which are switched off.
``protocol_whitelist=file`` alone would not be enough: an hls demuxer would still read any local
file through the file protocol (tests/common/test_media_safe_open.py shows it). It is set anyway so
that no network protocol is ever reachable.
"""

from __future__ import annotations

from pathlib import Path

import av
from av.container import InputContainer

from anb_common.media.errors import MediaRejected
from anb_common.media.sniff import SNIFF_BYTES, Container, sniff
from anb_common.reasons import UploadRule

# The decoders of the accepted video codecs, the only ones any decoder option set here lets open.
_DECODERS = "h264,hevc,vp9,libdav1d"


def decoder_options(max_pixels: int) -> dict[str, str]:
    """Options for a decoder opened on an upload: only an accepted codec opens, and no picture of
    more than ``max_pixels`` is allocated (FFmpeg refuses it before allocating, however large the
    size the stream declares)."""
    return {"codec_whitelist": _DECODERS, "max_pixels": str(max_pixels)}


def few_pictures_decoder(context: av.VideoCodecContext, max_pixels: int) -> None:
    """Set up a decoder that decodes a picture or a few in a bounded child (a probe, a poster pick):
    ``decoder_options``, and one thread: more would only add their stacks, which a child with a
    capped address space may fail to map (avcodec_open2 answers EAGAIN)."""
    context.thread_count = 1
    context.options = decoder_options(max_pixels)


def sniff_file(path: Path) -> Container:
    """The container ``path`` starts like; ``MediaRejected("not_a_video")`` when it is none we take."""
    with path.open("rb") as f:
        container = sniff(f.read(SNIFF_BYTES))
    if container is None:
        raise MediaRejected(UploadRule.NOT_A_VIDEO, "The file is not an MP4, MOV, WebM or MKV video.")
    return container


def safe_open(
    path: Path, container: Container | None = None, *, max_pixels: int | None = None
) -> InputContainer:
    """Open the local file ``path`` for reading with its demuxer pinned (sniffed unless given).

    Opening runs FFmpeg's stream-info step, which may decode the first packets with an accepted
    codec's decoder to learn the stream's parameters; ``max_pixels`` bounds the pictures those
    decoders allocate (see ``decoder_options``). The decoder PyAV opens later to decode is another
    one: whoever opens it bounds it too.

    Raises ``MediaRejected("not_a_video")`` when the bytes are not such a container or FFmpeg
    cannot parse them. The caller closes the returned container (it is a context manager).
    """
    container = container or sniff_file(path)
    options = {
        "protocol_whitelist": "file",
        "format_whitelist": container.demuxer,
        "codec_whitelist": _DECODERS,
    }
    if container.demuxer == "mov":
        options |= {"enable_drefs": "0", "use_absolute_path": "0"}
    try:
        # The explicit file: prefix keeps a name like "http:x" from being read as a URL.
        return av.open(
            f"file:{path.resolve()}",
            format=container.demuxer,
            container_options=options,
            # Given to every stream's decoder in the stream-info step (the format ignores them).
            options=decoder_options(max_pixels) if max_pixels is not None else None,
        )
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaRejected(
            UploadRule.NOT_A_VIDEO, "The file is damaged or not a video we can read."
        ) from exc
