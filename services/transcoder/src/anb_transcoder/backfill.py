"""Derivatives for videos processed before they existed: ``python -m anb_transcoder.backfill``
(``make backfill``), with the worker's settings and database role, one video at a time.

Each processed MP4 is downloaded and decoded once. The poster is chosen among its footage frames (the
cards' frames, ``ANB_PROCESSING_CARD_S`` at each end, are skipped) as a job chooses it; the footage is
taken to fill the frame, as a 16:9 upload does, for the row does not say how the upload was framed.
Where the footage lies (between those cards) is stored too, so that the owner can pick the poster.
The storyboard takes a frame a second. The HLS rendition is the MP4's own packets when its keyframes
allow segments of ``KEYFRAME_INTERVAL_S`` at most; an MP4 made before the keyframe interval was fixed
(x264's default put one every 250 frames) is encoded again for HLS only, from the frames decoded
anyway, and the MP4 stays as it is: such a rendition's frames are a second encoding of the MP4's.

Uploads come first, then a guarded update stores the keys (a poster the owner picked meanwhile is
kept, and the one made here removed); a video deleted meanwhile loses what was uploaded. Re-running
is safe: it takes only videos that still lack a derivative, and a video that failed here stays as it
was and is tried again next time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from anb_common import logs
from anb_common.aws import Aws
from anb_common.db.engine import create_engine, session_factory
from anb_transcoder import outputs
from anb_transcoder.brand import load_logo
from anb_transcoder.brand_cache import BrandCache
from anb_transcoder.derivatives import DerivativeFiles, Derivatives
from anb_transcoder.encoder import Encoder
from anb_transcoder.failures import log_failure
from anb_transcoder.graph import Layout, watermark_area
from anb_transcoder.hls import keyframe_gaps
from anb_transcoder.pipeline import card_length
from anb_transcoder.settings import ProcessingSettings, WorkerSettings
from anb_transcoder.storage import MissingObject, Storage
from anb_transcoder.videos import DerivativeKeys, Footage, Pending, VideoStore
from anb_transcoder.workdir import job_folder
from anb_transcoder.x264 import KEYFRAME_INTERVAL_S, OutputFormat

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Derived:
    files: DerivativeFiles
    reencoded: bool
    """The HLS rendition was encoded again: the MP4's keyframes were too far apart."""
    footage: Footage
    """The frames the poster was chosen among: the whole MP4 when it is too short for today's cards."""


def derive(mp4: Path, folder: Path, logo: Path, settings: ProcessingSettings) -> Derived:
    """The derivatives of a processed MP4, written into ``folder`` (blocking)."""
    gaps = keyframe_gaps(mp4)
    remux = max(gaps) <= KEYFRAME_INTERVAL_S
    folder.mkdir(parents=True, exist_ok=True)
    with av.open(str(mp4)) as media:
        stream = media.streams.video[0]
        stream.thread_type = "AUTO"
        fps = Fraction(stream.average_rate or 30)
        width, height = stream.codec_context.width, stream.codec_context.height
        total = stream.frames or round(sum(gaps) * fps)
        cards = card_length(settings, fps)
        if total <= 2 * cards:
            cards = 0  # made with shorter cards than configured now: any frame may be the poster
        picture = load_logo(logo)
        whole = Layout(width, height, 0, 0)
        maker = Derivatives(folder, fps, whole, watermark_area(whole, picture.width, picture.height))
        rendition = folder / "hls-source.mp4"
        with contextlib.ExitStack() as stack:
            encoder = None
            if not remux:
                output = OutputFormat.of(fps, settings.model_copy(update={"width": width, "height": height}))
                encoder = stack.enter_context(Encoder(rendition, output, lambda _: None, None))
            for index, frame in enumerate(media.decode(stream)):
                if cards <= index < total - cards:
                    maker.footage([frame])
                else:
                    maker.shown([frame])
                if encoder is not None:
                    encoder.frame(frame)
    files = maker.write(mp4 if remux else rendition)
    rendition.unlink(missing_ok=True)
    footage = Footage(start_s=float(cards / fps), length_s=float((total - 2 * cards) / fps))
    return Derived(files, reencoded=not remux, footage=footage)


@dataclass
class Tally:
    done: int = 0
    reencoded: int = 0
    failed: int = 0
    gone: int = 0


class Backfill:
    def __init__(
        self, settings: WorkerSettings, storage: Storage, videos: VideoStore, brand: BrandCache
    ) -> None:
        self._settings = settings
        self._storage = storage
        self._videos = videos
        self._brand = brand
        self.tally = Tally()

    async def run(self, limit: int) -> Tally:
        for pending in await self._videos.without_derivatives(limit):
            with logs.bound(video_id=str(pending.video_id)):
                try:
                    await self.one(pending)
                except Exception as exc:
                    # One damaged or vanished MP4 must not stop the others; it stays without
                    # derivatives and is tried again by the next run.
                    self.tally.failed += 1
                    log_failure(log, "backfill failed for this video", exc)
        return self.tally

    async def one(self, pending: Pending) -> None:
        video_id = pending.video_id
        brand = await self._brand.get()
        processing = self._settings.processing
        with job_folder(processing.temp_dir, video_id) as folder:
            mp4 = folder / "processed.mp4"
            try:
                await self._storage.download(pending.processed_key, mp4)
            except MissingObject:
                self.tally.gone += 1
                log.warning("processed video's MP4 is missing; skipped")
                return
            derived = await asyncio.to_thread(derive, mp4, folder / "derivatives", brand.logo, processing)
            made, objects = outputs.placed(video_id, derived.files, pending.poster_version)
            if pending.poster_key is not None:
                # The owner picked a poster: it stays.
                del objects[made.poster]
                made = DerivativeKeys(pending.poster_key, made.storyboard, made.hls)
            await outputs.upload(self._storage, objects)
        kept = await self._videos.derived(pending, made, derived.footage)
        if kept is None:
            self.tally.gone += 1
            log.info("video deleted (or reprocessed) meanwhile; what was uploaded is removed")
            if not await self._videos.exists(video_id):
                await outputs.remove(self._storage, video_id)
            return
        if kept != made.poster:
            await self._storage.delete(made.poster)  # the owner picked another meanwhile
        self.tally.done += 1
        self.tally.reencoded += derived.reencoded
        log.info(
            "derivatives stored",
            extra={"hls": "encoded again" if derived.reencoded else "remuxed", "hls_key": made.hls},
        )


async def backfill(settings: WorkerSettings, limit: int) -> Tally:
    aws = Aws(settings.aws)
    engine = create_engine(settings.db)
    try:
        async with aws.s3() as s3:
            storage = Storage(s3, settings.aws.bucket)
            brand = BrandCache(storage, settings.processing.temp_dir)
            videos = VideoStore(session_factory(engine))
            try:
                return await Backfill(settings, storage, videos, brand).run(limit)
            finally:
                brand.remove()
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Poster, storyboard and HLS for videos processed without them."
    )
    parser.add_argument("--limit", type=int, default=100_000, help="at most this many videos in this run")
    args = parser.parse_args()
    logs.configure("backfill")
    tally = asyncio.run(backfill(WorkerSettings(), args.limit))
    print(
        f"{tally.done} videos got their derivatives ({tally.reencoded} encoded again for HLS: their "
        f"keyframes were more than {KEYFRAME_INTERVAL_S} s apart); {tally.failed} failed, "
        f"{tally.gone} gone meanwhile"
    )


if __name__ == "__main__":
    main()
