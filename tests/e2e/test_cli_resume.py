"""``anb upload`` of a 100 MB clip over tus when the link drops: a proxy on 127.0.0.1 cuts it at 37 %,
the same command run again resumes where the server stopped storing (its note tells the bytes sent
twice), the clip ends processed, and the stored original is the source, byte for byte."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from e2e.cli_runner import anb, log_in, sign_up
from e2e.cutting_proxy import cutting_proxy
from gateway.tus_support import MIB, padded

from anb_devstack.clips import make_clip
from anb_devstack.running import RunningPlatform

CUT_AT = 0.37

pytestmark = pytest.mark.slow


def test_an_upload_cut_at_37_percent_resumes_where_it_stopped(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", width=1920, height=1080, seconds=21, fps=5, options={"crf": "40"})
    # 100 MB, the contract's largest upload.
    source = padded(clip, tmp_path / "reanudable.mp4", 100 * 1000 * 1000)
    size = source.stat().st_size
    gateway = urlsplit(platform.api)
    config = tmp_path / "config"
    email = sign_up(platform.api, config, "Rita", "Reanuda")
    with cutting_proxy((gateway.hostname or "127.0.0.1", gateway.port or 80)) as proxy:
        api = f"http://127.0.0.1:{proxy.port}{gateway.path}"
        log_in(api, config, email)
        proxy.arm(int(size * CUT_AT))
        first = anb(api, config, "upload", str(source), "--title", "Reanudada")
        assert proxy.cut.is_set()
        assert first.returncode == 1, first.stdout + first.stderr
        assert "Run the same command again to resume" in first.stderr
        saved = json.loads((config / "anb" / "uploads.json").read_text())["uploads"]
        assert next(entry["sent"] for entry in saved.values()) > 0
        again = anb(api, config, "upload", str(source), "--title", "Reanudada", "--wait")
    assert again.returncode == 0, again.stdout + again.stderr
    note = re.search(
        r"Resuming reanudable\.mp4 at byte (\d+) of (\d+): (\d+) bytes sent before", again.stdout
    )
    assert note is not None, again.stdout
    offset, total, twice = (int(group) for group in note.groups())
    assert total == size
    # At least the whole 8 MiB part before the cut was stored; nothing past the cut can have been.
    assert 8 * MIB <= offset <= size * CUT_AT
    assert twice < 8 * MIB
    print(f"cut at {size * CUT_AT:.0f} of {size} bytes; resumed at {offset}; sent twice: {twice}")
    assert "processed" in again.stdout.splitlines()
    video_id = next(
        line.split(": ")[1] for line in again.stdout.splitlines() if line.startswith("video_id: ")
    )
    assert (
        not (config / "anb" / "uploads.json").exists()
        or not json.loads((config / "anb" / "uploads.json").read_text())["uploads"]
    )
    log_in(platform.api, config, email)
    shown = anb(platform.api, config, "show", video_id.strip())
    original = re.search(r"original_url\s*:?\s*(\S+)", shown.stdout)
    assert original is not None, shown.stdout + shown.stderr
    stored = httpx.get(original.group(1), timeout=60).content
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
