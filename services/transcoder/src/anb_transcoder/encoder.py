"""Writes the output file: libx264 into an MP4 with faststart, frames numbered in output frames.

Cards arrive already encoded (``cards.py``) and their packets are copied in, shifted to where they
play; footage frames are encoded here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
from av.video.frame import PictureType

from anb_transcoder.bounds import CHECK_EVERY
from anb_transcoder.brand import load_card
from anb_transcoder.cards import EncodedCard
from anb_transcoder.x264 import OutputFormat

X264_MAX_REORDER = 2
"""Frames by which x264 at most decodes ahead of display (B-pyramid); without B-frames, none."""

log = logging.getLogger(__name__)


class Encoder:
    """Takes the intro card, the footage frames and the outro card, in that order; calls ``check``
    every ``CHECK_EVERY`` frames, and what it raises ends the writing."""

    def __init__(
        self,
        dst: Path,
        output: OutputFormat,
        on_frames: Callable[[int], None],
        check: Callable[[], None] | None,
    ) -> None:
        self._out = av.open(str(dst), "w", format="mp4", container_options={"movflags": "+faststart"})
        try:
            self._stream = output.add_stream(self._out)
        except BaseException:
            self._out.close()
            raise
        self._output = output
        self._extradata = bytes(self._stream.codec_context.extradata or b"")
        self._on_frames = on_frames
        self._check = check
        self._frames = 0
        self._packets = 0
        self._reorder = X264_MAX_REORDER if self._stream.codec_context.has_b_frames else 0
        self._pending = False
        """Frames sent to x264 whose packets may still be inside it."""

    def __enter__(self) -> Encoder:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if error is None:
                self._drain()
        finally:
            self._out.close()

    def card(self, card: EncodedCard) -> None:
        if card.extradata != self._extradata:
            # Only a change of x264 or of OutputFormat between the two encoders gets here; copied
            # packets would then be garbage to a player, so pay for encoding instead.
            log.warning("card parameter sets differ from the output's; encoding the card in place")
            picture = load_card(card.source, self._output.width, self._output.height)
            for _ in range(card.frames):
                self.frame(picture)
            return
        # x264 holds back a few frames for B-frame decisions: they come before the card.
        self._drain()
        time_base = self._stream.codec_context.time_base
        for piece in card.packets:
            packet = av.Packet(piece.data)
            packet.pts = self._frames + piece.pts
            packet.time_base = time_base
            packet.is_keyframe = piece.keyframe
            self._mux([packet])
        self._advance(card.frames)

    def footage(self, frames: list[av.VideoFrame], room: int) -> int:
        """Encode up to ``room`` of ``frames``; returns how many were written."""
        taken = frames[: max(0, room)]
        for frame in taken:
            self.frame(frame)
        return len(taken)

    def frame(self, frame: av.VideoFrame) -> None:
        # Decoded frames keep their I/P/B type and x264 would obey it (a keyframe per source GOP).
        frame.pict_type = PictureType.NONE
        frame.pts = self._frames
        frame.time_base = self._stream.codec_context.time_base
        self._mux(self._stream.encode(frame))
        self._pending = True
        self._advance(1)

    def _advance(self, frames: int) -> None:
        before, self._frames = self._frames, self._frames + frames
        if self._check is not None and self._frames // CHECK_EVERY != before // CHECK_EVERY:
            self._check()
        self._on_frames(self._frames)

    def _drain(self) -> None:
        if self._pending:
            self._mux(self._stream.encode(None))
            self._pending = False

    def _mux(self, packets: list[av.Packet[Any]]) -> None:
        # Each x264 instance numbers decode times itself, and delays them only once it has had frames
        # to reorder (a two-frame card is not delayed, a long one by two frames): joined, such runs
        # can go back in time. One numbering for the whole stream, packets in decode order, delayed
        # by the most x264 ever reorders, keeps every decode time increasing and never after display.
        for packet in packets:
            packet.dts = self._packets - self._reorder
            packet.stream = self._stream
            self._packets += 1
            self._out.mux(packet)
