"""Upload clips of a given size, made once and cached under .devdata/loadtest/clips/.

1920x1080, 30 fps, 40 s (inside the 20-60 s rule); the size comes from the encoder's bit rate, so a
"50 MB" clip is 50 MB of real H.264 that the transcoder must decode.
"""

from __future__ import annotations

from pathlib import Path

from anb_devstack.clips import make_clip

SECONDS = 40
FPS = 30
# The upload limit is 100,000,000 bytes; the "100 MB" clip stays just under it so it is accepted.
SIZES_MB = {5: 5.0, 50: 50.0, 100: 97.0}


def clip(folder: Path, size_mb: int) -> Path:
    path = folder / f"clip-{size_mb}mb.mp4"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    kbps = int(SIZES_MB[size_mb] * 8_000 / SECONDS)
    partial = path.with_suffix(".partial.mp4")
    make_clip(
        partial,
        width=1920,
        height=1080,
        seconds=SECONDS,
        fps=FPS,
        options={"b": f"{kbps}k", "maxrate": f"{kbps}k", "bufsize": f"{2 * kbps}k"},
    )
    partial.rename(path)
    return path
