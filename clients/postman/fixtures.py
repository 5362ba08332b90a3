"""Write the files the Postman collection uploads into a folder (newman's --working-dir).

    uv run python clients/postman/fixtures.py DIR

Real clips made with anb_devstack.clips, small on purpose: 5 fps and a high CRF keep the accepted clip
at about 2 MB, so uploading and transcoding it takes seconds. Existing files are kept (they are
deterministic), so repeated runs cost nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from anb_devstack.clips import make_clip

# The clip the platform must accept: 1080p, inside the 20-60 s window.
ACCEPTED = {"width": 1920, "height": 1080, "seconds": 21.0, "fps": 5}
# One rule broken each: too short, and below 1080p.
TOO_SHORT = {**ACCEPTED, "seconds": 5.0}
LOW_RESOLUTION = {**ACCEPTED, "width": 1280, "height": 720}
# Noise frames are nearly incompressible; a high CRF keeps them small without changing what is tested.
_SMALL = {"crf": "40"}


def write_fixtures(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    clips = {"clip.mp4": ACCEPTED, "short.mp4": TOO_SHORT, "lowres.mp4": LOW_RESOLUTION}
    written = []
    for name, spec in clips.items():
        path = folder / name
        if not path.exists() or path.stat().st_size == 0:
            partial = folder / f".{name}.part.mp4"
            make_clip(
                partial,
                width=int(spec["width"]),
                height=int(spec["height"]),
                seconds=float(spec["seconds"]),
                fps=int(spec["fps"]),
                options=_SMALL,
            )
            partial.replace(path)
        written.append(path)
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    text = folder / "not-a-video.mp4"
    text.write_text("This is a text file with a video's name, not a video.\n")
    return [*written, empty, text]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: fixtures.py DIR")
    for path in write_fixtures(Path(sys.argv[1])):
        print(path)
