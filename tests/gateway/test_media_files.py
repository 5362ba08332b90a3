"""A playlist and a storyboard served with presigned links inside, against the session's moto: every
link fetches its file, a text is presigned once while its links are young, memory stays bounded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from anb_common import keys
from anb_common.aws import Aws
from anb_gateway import media_rewrite
from anb_gateway.media_files import PLAYLIST, STORYBOARD, MediaFiles, MissingFile
from anb_gateway.storage import S3Storage

EXPIRY_S = 3600
PLAYLIST_TEXT = '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2.0,\nsegment-000.m4s\n#EXT-X-ENDLIST\n'
STORYBOARD_TEXT = "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nsprite.jpg#xywh=0,0,160,90\n"


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStorage(S3Storage):
    """The real storage, counting the links it mints."""

    minted = 0

    async def download_urls(self, keys: list[str]) -> list[str]:  # type: ignore[override]
        self.minted += len(keys)
        return await super().download_urls(keys)


@pytest.fixture
async def storage(aws: Aws) -> AsyncIterator[CountingStorage]:
    opened = CountingStorage(aws, expiry_s=EXPIRY_S)
    await opened.start()
    yield opened
    await opened.close()


async def _stored_video(aws: Aws) -> uuid.UUID:
    video_id = uuid.uuid4()
    objects = {
        keys.hls_playlist_key(video_id): PLAYLIST_TEXT.encode(),
        keys.hls_prefix(video_id) + "init.mp4": b"init bytes",
        keys.hls_prefix(video_id) + "segment-000.m4s": b"segment bytes",
        keys.storyboard_key(video_id): STORYBOARD_TEXT.encode(),
        keys.sprite_key(video_id): b"sprite bytes",
    }
    async with aws.s3() as s3:
        for key, body in objects.items():
            await s3.put_object(Bucket=aws.settings.bucket, Key=key, Body=body)
    return video_id


async def test_every_uri_of_a_served_playlist_fetches_its_file(storage: CountingStorage, aws: Aws) -> None:
    video_id = await _stored_video(aws)
    served = (
        await MediaFiles(storage, EXPIRY_S, 10).served(keys.hls_playlist_key(video_id), PLAYLIST)
    ).body.decode()
    uris = media_rewrite.playlist_uris(served)
    assert len(uris) == 2
    async with httpx.AsyncClient() as client:
        fetched = [(await client.get(uri)).content for uri in uris]
    assert fetched == [b"init bytes", b"segment bytes"]
    assert all(f"X-Amz-Expires={EXPIRY_S}" in uri for uri in uris)


async def test_a_served_storyboard_keeps_each_fragment_on_a_presigned_sprite(
    storage: CountingStorage, aws: Aws
) -> None:
    video_id = await _stored_video(aws)
    served = (
        await MediaFiles(storage, EXPIRY_S, 10).served(keys.storyboard_key(video_id), STORYBOARD)
    ).body.decode()
    [cue] = [line for line in served.splitlines() if "#xywh=" in line]
    link, fragment = cue.split("#", 1)
    assert fragment == "xywh=0,0,160,90"
    async with httpx.AsyncClient() as client:
        assert (await client.get(link)).content == b"sprite bytes"


async def test_a_text_is_presigned_once_while_its_links_are_young(storage: CountingStorage, aws: Aws) -> None:
    video_id = await _stored_video(aws)
    clock = Clock()
    files = MediaFiles(storage, EXPIRY_S, 10, clock)
    key = keys.hls_playlist_key(video_id)
    first = await files.served(key, PLAYLIST)
    assert first.fresh_s == EXPIRY_S // 2
    for step in range(1, 6):
        clock.now += EXPIRY_S / 20
        again = await files.served(key, PLAYLIST)
        assert again.body is first.body
        # Whoever keeps a copy keeps it no longer than the gateway does.
        assert again.fresh_s == EXPIRY_S // 2 - step * EXPIRY_S // 20
    assert storage.minted == 2
    # Once half the links' life has passed, the next player gets fresh ones.
    clock.now += EXPIRY_S / 2
    fresh = await files.served(key, PLAYLIST)
    assert fresh.body is not first.body
    assert fresh.fresh_s == EXPIRY_S // 2
    assert storage.minted == 4


async def test_memory_is_bounded_by_dropping_the_least_recently_served(
    storage: CountingStorage, aws: Aws
) -> None:
    files = MediaFiles(storage, EXPIRY_S, 2)
    videos = [await _stored_video(aws) for _ in range(3)]
    for video_id in videos:
        await files.served(keys.hls_playlist_key(video_id), PLAYLIST)
    minted = storage.minted
    await files.served(keys.hls_playlist_key(videos[2]), PLAYLIST)  # kept
    assert storage.minted == minted
    await files.served(keys.hls_playlist_key(videos[0]), PLAYLIST)  # dropped first, minted again
    assert storage.minted == minted + 2


async def test_a_text_storage_does_not_have_is_missing(storage: CountingStorage) -> None:
    with pytest.raises(MissingFile):
        await MediaFiles(storage, EXPIRY_S, 10).served(keys.hls_playlist_key(uuid.uuid4()), PLAYLIST)
