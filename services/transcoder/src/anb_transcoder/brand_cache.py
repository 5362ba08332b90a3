"""The brand assets (watermark, intro and outro cards), fetched from S3 once per worker process and
kept in ``brand-<pid>`` under the temp dir (the pid lets ``workdir.remove_stale`` clear a killed
worker's copy). Fetched again if the files vanish (a tmp cleaner, an operator), and checked before
every poll, so that a worker whose disk or bucket is broken takes no job it would only fail."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from anb_common.keys import INTRO_KEY, LOGO_KEY, OUTRO_KEY
from anb_transcoder.brand import BrandAssets
from anb_transcoder.storage import Storage


class BrandCache:
    def __init__(self, storage: Storage, temp_dir: Path) -> None:
        self._storage = storage
        # The readiness passes and the jobs ask at once: one download at a time into the same files.
        self._fetching = asyncio.Lock()
        self.folder = temp_dir / f"brand-{os.getpid()}"
        self._assets = BrandAssets(
            logo=self.folder / Path(LOGO_KEY).name,
            intro=self.folder / Path(INTRO_KEY).name,
            outro=self.folder / Path(OUTRO_KEY).name,
        )

    async def get(self) -> BrandAssets:
        """The local copies, downloaded first when missing; raises when the disk or S3 fails."""
        wanted = {LOGO_KEY: self._assets.logo, INTRO_KEY: self._assets.intro, OUTRO_KEY: self._assets.outro}
        async with self._fetching:
            missing = {key: path for key, path in wanted.items() if not path.is_file()}
            if missing:
                self.folder.mkdir(parents=True, exist_ok=True)
                for key, path in missing.items():
                    partial = path.with_suffix(".partial")
                    await self._storage.download(key, partial)
                    partial.replace(path)
        return self._assets

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
