"""Pictures as JPEG files, with FFmpeg's own encoder (``mjpeg``): no imaging library is needed (the
worker's posters and storyboard sprites, ingest's poster picked by the owner).

Output frames are untagged BT.709 limited-range YUV, the HD convention players assume; a JPEG (JFIF)
is BT.601 full-range YCbCr. Pictures go through RGB, converted with the matrix each side uses, so a
poster shows the colours the video does.
"""

from __future__ import annotations

from fractions import Fraction

import av
from av.video.reformatter import ColorRange, Colorspace, Interpolation, VideoReformatter

QUALITIES = (3, 5, 8, 12, 18, 25, 31)
"""mjpeg quantiser scales tried in turn (lower is better and bigger) until the file fits; 3 looks
like the video itself, and 31 is the coarsest the encoder has."""


def to_rgb(
    frame: av.VideoFrame, width: int, height: int, reformatter: VideoReformatter | None = None
) -> av.VideoFrame:
    """An output frame as RGB of ``width`` x ``height``, area-averaged when it shrinks (a thumbnail
    keeps the picture's detail instead of aliasing it). A reformatter kept by the caller keeps
    FFmpeg's scaler set up between calls of one size, which is what makes many thumbnails cheap."""
    return (reformatter or VideoReformatter()).reformat(
        frame,
        width,
        height,
        "rgb24",
        src_colorspace=Colorspace.ITU709,
        src_color_range=ColorRange.MPEG,
        interpolation=Interpolation.AREA,
        threads=1,
    )


def encode_jpeg(picture: av.VideoFrame, max_bytes: int | None = None) -> bytes:
    """``picture`` (RGB) as a baseline JPEG: at the best quality of ``QUALITIES`` that fits in
    ``max_bytes``, or at the best when there is no limit. Raises ValueError when even the coarsest
    does not fit."""
    ycbcr = picture.reformat(
        format="yuvj420p", dst_colorspace=Colorspace.ITU601, dst_color_range=ColorRange.JPEG
    )
    for quality in QUALITIES:
        data = _encode(ycbcr, quality)
        if max_bytes is None or len(data) <= max_bytes:
            return data
    raise ValueError(f"a {picture.width}x{picture.height} JPEG does not fit in {max_bytes} bytes")


def _encode(picture: av.VideoFrame, quality: int) -> bytes:
    codec = av.CodecContext.create("mjpeg", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt = picture.width, picture.height, "yuvj420p"
    codec.time_base = Fraction(1, 1)
    # One thread: a single picture gains nothing from slice threads, and ingest encodes it in a child
    # whose address space is capped, where starting a thread's stack can fail (EAGAIN from
    # avcodec_open2, seen on a loaded run).
    codec.thread_count = 1
    # A fixed quantiser: the frame carries no quality of its own, so qmin = qmax pins it.
    codec.options = {"flags": "+qscale", "qmin": str(quality), "qmax": str(quality)}
    picture.pts = 0
    return b"".join(bytes(packet) for packet in (*codec.encode(picture), *codec.encode(None)))
