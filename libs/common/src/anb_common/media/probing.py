"""What a video is: container, codec, size, duration, frame rate and count, rotation; decodability
checked on one picture.

A hostile file must not get a decoder to run on it, nor make one allocate the picture it declares,
unless we would accept it. So: the demuxer reads the container (``safe_open``; its stream-info step
may run an accepted codec's decoder on the first packets, bounded by ``max_pixels``); the codec, the
declared size and the frame count are checked from the stream's parameters and its packets, which
are demuxed, never decoded; only then is one picture decoded, by a decoder bounded the same way.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
from av.stream import Discard
from av.video.stream import VideoStream

from anb_common.media.errors import MediaRejected
from anb_common.media.facts import MediaFacts
from anb_common.media.opening import few_pictures_decoder, safe_open, sniff_file
from anb_common.media.rules import MAX_FPS, check_codec, check_frame_rate, check_long_side, max_pixels
from anb_common.reasons import UploadRule
from anb_common.settings import UploadLimits


def probe(path: Path, limits: UploadLimits | None = None) -> MediaFacts:
    """Facts about the local video ``path``. Raises ``MediaRejected`` when it is not one we can read
    (not a known container, no video stream, first picture not decodable), and before anything is
    decoded when what it declares breaks ``limits``: a codec we do not accept, a picture larger than
    the longest side allowed, more than ``MAX_FPS`` pictures per second. The other rules are
    ``check``'s."""
    limits = limits or UploadLimits()
    container = sniff_file(path)
    bound = max_pixels(limits)
    with safe_open(path, container, max_pixels=bound) as media:
        if not media.streams.video:
            raise MediaRejected(UploadRule.NO_VIDEO_STREAM, "The file has no video track.")
        stream = media.streams.video[0]
        context = stream.codec_context
        # The stream's parameters, from the container and the stream-info step; no decoder of ours
        # is open yet.
        check_codec(context.codec.canonical_name if context is not None else "unknown")
        check_long_side(context.width, context.height, limits)
        duration_s = stream_duration_s(media, stream) or 0.0
        check_frame_rate(stream.frames, duration_s)
        counted, first = _count_pictures(media, stream, _counting_cap(duration_s, limits))
        frames = max(stream.frames, counted)
        check_frame_rate(frames, duration_s)
        frame = _decode_one(stream, first, bound)
        return MediaFacts(
            container=container,
            codec=context.codec.canonical_name,
            width=frame.width,
            height=frame.height,
            duration_s=duration_s,
            fps=stream.average_rate or stream.guessed_rate or Fraction(0),
            rotation=clockwise_rotation(frame),
            pix_fmt=frame.format.name,
            frames=frames,
        )


def _counting_cap(duration_s: float, limits: UploadLimits) -> int:
    """Packets worth counting: twice the frame-rate bound tells a broken rule by how much, and the
    longest accepted clip bounds the work whatever duration the file claims."""
    return math.floor(2 * MAX_FPS * min(duration_s, limits.max_duration_s)) + 1


def _count_pictures(
    media: av.container.InputContainer, stream: VideoStream, cap: int
) -> tuple[int, av.Packet[VideoStream] | None]:
    """Packets of ``stream``, up to ``cap``, read without decoding any; and the first keyframe among
    them (the first packet when none is marked)."""
    for other in media.streams:
        if other is not stream:
            other.discard = Discard.all
    count, first = 0, None
    try:
        for packet in media.demux(stream):
            if packet.size == 0:  # the demuxer's end-of-stream marker
                continue
            count += 1
            if first is None or (packet.is_keyframe and not first.is_keyframe):
                first = packet
            if count >= cap:
                break
    except av.FFmpegError:
        # Damage past the start: what was counted stands; the worker copes with the rest.
        pass
    return count, first


def _decode_one(stream: VideoStream, packet: av.Packet[VideoStream] | None, bound: int) -> av.VideoFrame:
    """The picture in ``packet``; ``MediaRejected("undecodable")`` if there is none."""
    if packet is None:
        raise MediaRejected(UploadRule.UNDECODABLE, "The video track holds no pictures.")
    context = stream.codec_context
    few_pictures_decoder(context, bound)
    try:
        # Decoding that one packet and draining the decoder holds one picture, where decoding on
        # until a picture comes out would hold every picture the stream reorders.
        frames = context.decode(packet) or context.decode(None)
    except (av.FFmpegError, ValueError) as exc:
        raise MediaRejected(UploadRule.UNDECODABLE, "The video track is damaged.") from exc
    if not frames:
        raise MediaRejected(UploadRule.UNDECODABLE, "The video track's first picture does not decode.")
    frame = frames[0]
    assert isinstance(frame, av.VideoFrame)
    return frame


def clockwise_rotation(frame: av.VideoFrame) -> int:
    """The frame's display-matrix rotation as clockwise degrees, snapped to a quarter turn."""
    # FFmpeg reports the counter-clockwise angle in [-180, 180].
    return round(-frame.rotation / 90) % 4 * 90


def stream_duration_s(media: av.container.InputContainer, stream: VideoStream) -> float | None:
    """Duration of ``stream`` from the container's index (Matroska only has the container's)."""
    # An unset time base is None before PyAV 19 and a zero rational from 19 on.
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if media.duration is not None:
        return media.duration / av.time_base
    return None
