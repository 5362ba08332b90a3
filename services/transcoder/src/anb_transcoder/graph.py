"""The footage filter graph: everything heavy between decoder and encoder runs inside FFmpeg.

buffer → fps → scale (fit, bicubic, to yuv420p) → transpose/flip (rotation) → pad → overlay logo
(composited in yuv420, which is ~15 % cheaper than letting overlay negotiate RGBA) → buffersink.
The frame rate is made constant before scaling, so dropped frames are never scaled.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
from av.filter.context import FilterContext

# How the picture is turned for display, as filters applied after scaling (scaling first is cheaper:
# the smaller picture gets transposed).
_ROTATIONS = {
    0: [],
    90: [("transpose", "clock")],
    180: [("hflip", ""), ("vflip", "")],
    270: [("transpose", "cclock")],
}
LOGO_MARGIN_PX = 24
"""Distance from the watermark to the lower-right corner of the footage."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the footage lands in the output frame (the rest is black bars)."""

    width: int
    height: int
    x: int
    y: int


def fit(display_width: int, display_height: int, out_width: int, out_height: int) -> Layout:
    """Largest even-sized picture with the display aspect ratio that fits the output, centred."""
    scale = min(out_width / display_width, out_height / display_height)
    width = min(out_width, max(2, round(display_width * scale / 2) * 2))
    height = min(out_height, max(2, round(display_height * scale / 2) * 2))
    return Layout(width, height, (out_width - width) // 2 // 2 * 2, (out_height - height) // 2 // 2 * 2)


def watermark_area(footage: Layout, logo_width: int, logo_height: int) -> Layout:
    """Where the watermark goes: the footage's lower-right corner, ``LOGO_MARGIN_PX`` inside it."""
    x = max(0, footage.x + footage.width - logo_width - LOGO_MARGIN_PX)
    y = max(0, footage.y + footage.height - logo_height - LOGO_MARGIN_PX)
    return Layout(logo_width, logo_height, x, y)


class FootageGraph:
    """Push decoded frames (timestamps from 0, in ``time_base``) and pull finished output frames
    (constant ``fps``, timestamps counted in frames)."""

    def __init__(
        self,
        first: av.VideoFrame,
        time_base: Fraction,
        sample_aspect: Fraction,
        rotation: int,
        fps: Fraction,
        size: tuple[int, int],
        logo: av.VideoFrame,
    ) -> None:
        out_width, out_height = size
        turned = rotation in (90, 270)
        display = (round(first.width * sample_aspect), first.height)
        layout = fit(*(display[::-1] if turned else display), out_width, out_height)
        scaled = (layout.height, layout.width) if turned else (layout.width, layout.height)
        self.footage_area = layout
        """Where the footage lands in each output frame (the rest is black bars)."""
        self.watermark_area = watermark_area(layout, logo.width, logo.height)
        """Where the watermark lies over it (it may reach past the frame's edge)."""

        # Held here: the filter contexts below refer to their graph only weakly.
        self._graph = graph = av.filter.Graph()
        self._source = graph.add(
            "buffer",
            video_size=f"{first.width}x{first.height}",
            pix_fmt=first.format.name,
            colorspace=str(int(first.colorspace)),
            range=str(int(first.color_range)),
            time_base=str(time_base),
            pixel_aspect=str(sample_aspect),
        )
        self._logo = graph.add_buffer(
            width=logo.width, height=logo.height, format=logo.format, time_base=1 / fps
        )
        chain: list[FilterContext] = [
            self._source,
            graph.add("fps", fps=str(fps)),
            graph.add("scale", w=str(scaled[0]), h=str(scaled[1]), flags="bicubic"),
            graph.add("format", pix_fmts="yuv420p"),
            *(graph.add(name, args or None) for name, args in _ROTATIONS[rotation]),
            graph.add("pad", w=str(out_width), h=str(out_height), x=str(layout.x), y=str(layout.y)),
        ]
        overlay = graph.add(
            "overlay",
            x=str(self.watermark_area.x),
            y=str(self.watermark_area.y),
            format="yuv420",
            eof_action="repeat",
        )
        self._sink = graph.add("buffersink")
        graph.link_nodes(*chain, overlay)
        self._logo.link_to(overlay, 0, 1)
        graph.link_nodes(overlay, graph.add("setsar", "1"), self._sink)
        graph.configure()
        logo.pts = 0
        self._logo.push(logo)
        self._logo.push(None)

    def push(self, frame: av.VideoFrame | None) -> None:
        """Feed one decoded frame, or None at the end of the footage."""
        self._source.push(frame)

    def pull(self) -> list[av.VideoFrame]:
        """Every output frame ready now (after ``push(None)``: all the rest)."""
        ready: list[av.VideoFrame] = []
        while True:
            try:
                frame = self._sink.pull()
            except (BlockingIOError, av.BlockingIOError):
                return ready
            except EOFError:
                return ready
            assert isinstance(frame, av.VideoFrame)
            ready.append(frame)
