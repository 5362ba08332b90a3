"""The brand assets (watermark, intro and outro cards), fetched from S3 once per worker process."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from anb_common.keys import INTRO_KEY, LOGO_KEY, OUTRO_KEY
from anb_transcoder.pipeline import BrandAssets
from anb_transcoder.storage import Storage


@asynccontextmanager
async def brand_assets(storage: Storage, temp_dir: Path) -> AsyncIterator[BrandAssets]:
    """Download the assets into ``brand-<pid>`` under the temp dir, removed when the worker stops.

    The pid in the name lets ``workdir.remove_stale`` clear the folder of a killed worker.
    """
    folder = temp_dir / f"brand-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        paths = {}
        for key in (LOGO_KEY, INTRO_KEY, OUTRO_KEY):
            path = folder / Path(key).name
            await storage.download(key, path)
            paths[key] = path
        yield BrandAssets(logo=paths[LOGO_KEY], intro=paths[INTRO_KEY], outro=paths[OUTRO_KEY])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
