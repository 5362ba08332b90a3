"""Is this instance's worker able to take a job? Exit 0 only when every part of its readiness holds.

Run by transcoder.sh with the transcoder's own virtualenv, user and environment file, so that it uses
the release's code, the service's credentials and its settings: the temp folder is writable, the
brand assets are in the bucket and decode (logo and both cards, at the output size), PostgreSQL
answers with the service's database URL, the bucket and both queues are reachable. The worker runs
the same checks before every poll (``anb_transcoder.worker``), so a pass here means its first poll
passes too; a worker that sends ``READY=1`` itself (``Type=notify``) makes this probe unnecessary.
"""

from __future__ import annotations

import asyncio
import shutil

from anb_common.aws import Aws
from anb_common.db.engine import create_engine, session_factory
from anb_transcoder.brand import load_card, load_logo
from anb_transcoder.brand_cache import BrandCache
from anb_transcoder.queue import JobQueue
from anb_transcoder.settings import WorkerSettings
from anb_transcoder.storage import Storage
from anb_transcoder.videos import VideoStore
from anb_transcoder.workdir import check_writable


async def check(settings: WorkerSettings) -> None:
    check_writable(settings.processing.temp_dir)
    aws = Aws(settings.aws)
    engine = create_engine(settings.db)
    try:
        async with aws.s3() as s3, aws.sqs() as sqs:
            await JobQueue.open(sqs, settings.aws.queue_name, settings.aws.dlq_name)
            storage = Storage(s3, settings.aws.bucket)
            await storage.ping()
            brand = BrandCache(storage, settings.processing.temp_dir)
            try:
                assets = await brand.get()
                load_logo(assets.logo)
                for card in (assets.intro, assets.outro):
                    load_card(card, settings.processing.width, settings.processing.height)
            finally:
                shutil.rmtree(brand.folder, ignore_errors=True)
        await VideoStore(session_factory(engine)).ping()
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(check(WorkerSettings()))
