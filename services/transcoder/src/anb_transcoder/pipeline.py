"""Turn one upload into the platform's processed video, in process with PyAV (no ffmpeg subprocess).

intro card → footage (first ``max_output_s`` seconds, fitted and padded to the output size, rotation
honoured, watermark on every frame, constant frame rate) → outro card, one H.264 stream (libx264) in
an MP4 with faststart and no audio; the cards' packets are encoded once per worker and copied in
(``cards.py``). Decoding, filtering and encoding each run in a thread of their own, overlapping
(PyAV releases the GIL inside FFmpeg); decoder and encoder use FFmpeg's own threads too. Asked for,
the poster, storyboard and HLS rendition come from the same run (``derivatives.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.stream import Discard
from av.video.stream import VideoStream

from anb_common.media import (
    ACCEPTED_CODECS,
    MediaRejected,
    clockwise_rotation,
    decoder_options,
    safe_open,
    stream_duration_s,
)
from anb_common.reasons import ProcessingFailure
from anb_transcoder.bounds import CHECK_EVERY, Bounds
from anb_transcoder.brand import BrandAssets, load_logo
from anb_transcoder.cards import encoded_card
from anb_transcoder.derivatives import DerivativeFiles, Derivatives
from anb_transcoder.encoder import Encoder
from anb_transcoder.graph import FootageGraph
from anb_transcoder.outcomes import Cancelled, UnprocessableVideo
from anb_transcoder.settings import ProcessingSettings
from anb_transcoder.stages import in_background
from anb_transcoder.x264 import OutputFormat

CARDS_MAX_S = 5.0
"""The published contract: intro and outro together last at most this long, whatever the settings."""
_DECODED_AHEAD = 8
"""Decoded frames buffered between the decoding and the filtering thread (~3 MB each at 1080p)."""
_BATCHES_AHEAD = 8
"""Batches of output frames (usually one, 1.4 MB at 720p) buffered between the filtering thread and
the encoder."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TranscodeResult:
    fps: Fraction
    """Constant output frame rate."""
    footage_frames: int
    card_frames: int
    """Frames of each card."""
    derivatives: DerivativeFiles | None = None
    """The poster, storyboard and HLS files, when they were asked for."""

    @property
    def duration_s(self) -> float:
        return float((self.footage_frames + 2 * self.card_frames) / self.fps)


def transcode(
    src: Path,
    dst: Path,
    brand: BrandAssets,
    settings: ProcessingSettings,
    on_progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    derivatives: Path | None = None,
) -> TranscodeResult:
    """Write the processed video of ``src`` to ``dst`` (blocking; run it off the event loop), and its
    derivatives into the folder ``derivatives`` (created) unless that is None.

    Raises ``UnprocessableVideo`` for input that will never work or breaks a bound of ``settings``,
    ``Cancelled`` when ``should_stop`` returned true (both checked while decoding and while encoding,
    see ``bounds``); on any failure ``dst`` and ``derivatives`` are left absent. ``on_progress`` gets
    the percent of output frames written each time it changes (at most 101 calls; the caller decides
    how often to store it).
    """
    partial = dst.with_name(f".{dst.name}.partial")
    done = False
    try:
        bounds = Bounds(settings, should_stop)
        result, maker = _transcode(src, partial, brand, settings, _Progress(on_progress), bounds, derivatives)
        if maker is not None:
            # Written once the transcode's decoder, graph and encoder are gone: their memory is free
            # again for the remux and the pictures (written while they still stood, the peak grew ~15 MB).
            result = dataclasses.replace(result, derivatives=maker.write(partial))
        partial.replace(dst)
        done = True
        return result
    except (UnprocessableVideo, Cancelled, OSError, MemoryError):
        raise
    except Exception as exc:
        # The pipeline reads one local file and writes another: apart from the disk (OSError) and
        # memory, what fails here fails the same way on every attempt, so retrying only delays the
        # player's answer and ends in the dead-letter queue. The trace goes to the log.
        log.exception("transcode failed on this input", extra={"source": src.name})
        raise UnprocessableVideo(ProcessingFailure.DAMAGED, f"unexpected {type(exc).__name__}") from exc
    finally:
        partial.unlink(missing_ok=True)
        if derivatives is not None and not done:
            shutil.rmtree(derivatives, ignore_errors=True)


def _transcode(
    src: Path,
    dst: Path,
    brand: BrandAssets,
    settings: ProcessingSettings,
    progress: _Progress,
    bounds: Bounds,
    derivatives: Path | None,
) -> tuple[TranscodeResult, Derivatives | None]:
    try:
        media = safe_open(src, max_pixels=settings.max_pixels)
    except MediaRejected as exc:
        raise UnprocessableVideo(ProcessingFailure.DAMAGED, f"cannot be opened: {exc}") from exc
    with media:
        if not media.streams.video:
            raise UnprocessableVideo(ProcessingFailure.DAMAGED, "no video track")
        stream = media.streams.video[0]
        codec = stream.codec_context.codec.canonical_name
        if codec not in ACCEPTED_CODECS:
            # Ingest already refuses these; checking again keeps other decoders from ever running.
            raise UnprocessableVideo(ProcessingFailure.UNSUPPORTED_CODEC, "codec not accepted", codec=codec)
        stream.thread_type = "AUTO"
        # Read when the decoder opens, at the first packet: a picture larger than max_pixels fails
        # to decode instead of being allocated, whatever size the file declared up front.
        stream.codec_context.options = decoder_options(settings.max_pixels)
        for other in media.streams:
            if other is not stream:
                other.discard = Discard.all
        fps = _output_fps(stream, settings.max_fps)
        footage_s = min(stream_duration_s(media, stream) or math.inf, settings.max_output_s)
        card_frames = card_length(settings, fps)
        footage_limit = math.floor(settings.max_output_s * fps)
        progress.total = max(1, min(footage_limit, round(footage_s * fps)) + 2 * card_frames)
        logo = load_logo(brand.logo)
        graphs: list[FootageGraph] = []
        """The graph, once the filtering thread has built it from the first frame."""

        def graph_for(first: av.VideoFrame) -> FootageGraph:
            try:
                graphs.append(
                    FootageGraph(
                        first,
                        time_base=first.time_base or stream.time_base or Fraction(1, 90_000),
                        sample_aspect=stream.codec_context.sample_aspect_ratio or Fraction(1),
                        rotation=clockwise_rotation(first),
                        fps=fps,
                        size=(settings.width, settings.height),
                        logo=logo,
                    )
                )
                return graphs[0]
            except (av.FFmpegError, ValueError) as exc:
                # The only input to the graph that varies is the source's picture format and size.
                raise UnprocessableVideo(
                    ProcessingFailure.UNSUPPORTED_PICTURE,
                    f"the filter graph refused the picture: {exc}",
                    pix_fmt=first.format.name,
                    width=first.width,
                    height=first.height,
                ) from exc

        frames = in_background(_decode(media, stream, settings.max_output_s, bounds), _DECODED_AHEAD)
        batches = in_background(_fitted(frames, graph_for), _BATCHES_AHEAD)
        maker: Derivatives | None = None
        try:
            footage = 0
            try:
                first = next(batches, None)
                if first is None:
                    raise UnprocessableVideo(ProcessingFailure.DAMAGED, "no decodable picture")
                output = OutputFormat.of(fps, settings)
                # Both cards before the footage encoder opens: a card's encoder (on a worker's
                # first job at this rate) and the footage's are then never in memory together.
                intro, outro = (
                    encoded_card(card, card_frames, output) for card in (brand.intro, brand.outro)
                )
                # The graph handed the first batch over, so it exists: it says where the footage lies.
                if derivatives is not None:
                    maker = Derivatives(derivatives, fps, graphs[0].footage_area, graphs[0].watermark_area)
                with Encoder(dst, output, progress.update, bounds.check) as encoder:
                    encoder.card(intro)
                    if maker is not None:
                        maker.card(intro)
                    for ready in _with_first(first, batches):
                        taken = encoder.footage(ready, footage_limit - footage)
                        if maker is not None:
                            maker.footage(ready[:taken])
                        footage += taken
                    if footage == 0:
                        raise UnprocessableVideo(ProcessingFailure.DAMAGED, "no picture left the graph")
                    encoder.card(outro)
                    if maker is not None:
                        maker.card(outro)
            except (av.FFmpegError, ValueError) as exc:
                if isinstance(exc, OSError):
                    raise  # the disk or the output, not the video: another attempt may work
                # Frames the graph cannot take (a size or format change midway, damaged pictures)
                # fail the same way on every attempt: the video's fault, not ours.
                raise UnprocessableVideo(ProcessingFailure.DAMAGED_MIDWAY, f"midway: {exc}") from exc
        finally:
            batches.close()
            frames.close()
    return TranscodeResult(fps=fps, footage_frames=footage, card_frames=card_frames), maker


def _with_first(
    first: list[av.VideoFrame], rest: Iterator[list[av.VideoFrame]]
) -> Iterator[list[av.VideoFrame]]:
    yield first
    yield from rest


def _fitted(
    frames: Iterator[av.VideoFrame], graph_for: Callable[[av.VideoFrame], FootageGraph]
) -> Iterator[list[av.VideoFrame]]:
    """Footage frames ready to encode, in batches as the graph releases them; the graph is built
    from the first decoded frame. Runs in a thread of its own, between decoding and encoding: with
    filtering in the encoding thread, a 30 s 1080p job took ~1.5 % longer (measured side by side)."""
    graph: FootageGraph | None = None
    for frame in frames:
        if graph is None:
            graph = graph_for(frame)
        graph.push(frame)
        yield graph.pull()
    if graph is not None:
        graph.push(None)
        yield graph.pull()


def _decode(
    media: av.container.InputContainer, stream: VideoStream, limit_s: float, bounds: Bounds
) -> Iterator[av.VideoFrame]:
    """Decoded frames with strictly increasing timestamps rebased to 0, up to ``limit_s`` seconds.

    Frames without a timestamp or going back in time (broken muxing) are dropped: the graph needs
    monotonic input. Damaged packets are skipped and damage in the container ends the footage there,
    as players do; the caller notices when nothing decoded at all. More than ``bounds.max_pictures``
    pictures handed to the decoder fail the video: a file can pack millions of tiny pictures into
    its first seconds, or give them all one timestamp, so that ``limit_s`` never ends the decoding.
    """
    start: int | None = None
    last = -1
    limit: int | None = None
    pictures = 0
    packets = media.demux(stream)
    while True:
        try:
            packet = next(packets)
        except (StopIteration, av.FFmpegError):
            return
        if packet.size:  # the empty packets at the end only flush the decoder
            pictures += 1
            if pictures > bounds.max_pictures:
                raise bounds.too_many_pictures()
            if pictures % CHECK_EVERY == 0:
                bounds.check()
        try:
            decoded = stream.decode(packet)
        except (av.FFmpegError, ValueError):
            # ValueError: PyAV 19 reports a decoder that would not open (a picture over max_pixels
            # already in the declared size) on each packet this way.
            continue
        for frame in decoded:
            # An unset time base is None before PyAV 19 and a zero rational from it on.
            if frame.pts is None or not frame.time_base:
                continue
            if start is None:
                start = frame.pts
                limit = math.ceil(limit_s / frame.time_base)
            pts = frame.pts - start
            if pts <= last:
                continue
            if limit is not None and pts >= limit:
                return
            frame.pts = last = pts
            yield frame


class _Progress:
    """Frames written, turned into a percentage reported when it changes. Not throttled in time:
    the worker's ``ProgressReporter`` only keeps the newest value and writes it to the database at
    its own interval (``ANB_WORKER_PROGRESS_INTERVAL_S``)."""

    def __init__(self, report: Callable[[int], None] | None) -> None:
        self._report = report
        self._last_percent = -1
        self.total = 1

    def update(self, done: int) -> None:
        if self._report is None:
            return
        percent = min(100, done * 100 // self.total)
        if percent != self._last_percent:
            self._last_percent = percent
            self._report(percent)


def card_length(settings: ProcessingSettings, fps: Fraction) -> int:
    """Frames of each card at ``fps``: ``card_s`` seconds, never past the contract's bound."""
    return math.floor(Fraction(min(settings.card_s, CARDS_MAX_S / 2)) * fps)


def _output_fps(stream: VideoStream, cap: int) -> Fraction:
    """The source's average rate capped at ``cap``; 30 when the file does not say."""
    rate = stream.average_rate or stream.guessed_rate or Fraction(30)
    return min(Fraction(rate).limit_denominator(1001), Fraction(cap))


__all__ = ["Cancelled", "TranscodeResult", "UnprocessableVideo", "transcode"]
