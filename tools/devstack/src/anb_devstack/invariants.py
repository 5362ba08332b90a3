"""What must hold of the platform after any run, however it was treated: nothing lost, nothing left.

Tests call :func:`check` after every fault they inject; ``make check-invariants`` runs it against the
platform that ``make run`` started. Each violation is returned as a sentence, so a failing test says
what broke rather than which assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import asyncpg

from anb_common.aws import Aws, queue_url
from anb_common.db.dsn import libpq_url
from anb_common.keys import PROCESSED_PREFIX, UPLOADS_PREFIX, sprite_key, video_id_from_key
from anb_common.processes import alive, owner_pid
from anb_common.reasons import ProcessingFailure, decode
from anb_common.settings import AwsSettings, DatabaseSettings

SWEEP_MARGIN_S = 300
"""How long past its expiry a resumable upload may still exist: ingest's sweeper looks every minute
(ANB_INGEST_TUS_SWEEP_INTERVAL_S) and may be busy or restarting."""


@dataclass(frozen=True)
class Scope:
    aws: AwsSettings
    db_url: str
    temp_dir: Path
    allow_dlq: bool = False
    """A test that poisons the queue on purpose expects dead letters."""
    spool_dir: Path | None = None
    """Ingest's folder of per-upload copies; empty once no upload is in flight."""


async def _keys(aws: Aws, prefix: str) -> set[str]:
    keys: set[str] = set()
    async with aws.s3() as s3:
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=aws.settings.bucket, Prefix=prefix):
            keys.update(item["Key"] for item in page.get("Contents", []) if item["Key"] != prefix)
    return keys


async def _queue_depth(aws: Aws, name: str) -> int:
    async with aws.sqs() as sqs:
        url = await queue_url(sqs, name)
        attributes = (
            await sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )
        )["Attributes"]
    return sum(int(value) for value in attributes.values())


async def _open_multipart_uploads(aws: Aws) -> list[str]:
    async with aws.s3() as s3:
        response = await s3.list_multipart_uploads(Bucket=aws.settings.bucket)
    return [upload["Key"] for upload in response.get("Uploads", [])]


async def dead_lettered_failures(scope: Scope) -> list[str]:
    """Dead letters whose video did not end ``failed`` with a reason (or was not deleted).

    A test that feeds hostile files may see jobs dead-lettered after repeated failures; that is
    acceptable only when the player was told why, which is what this checks for each of them: the
    stored reason is a code the gateway words (text or nothing reads as ``unspecified``).
    """
    aws = Aws(scope.aws)
    bodies: list[str] = []
    async with aws.sqs() as sqs:
        url = await queue_url(sqs, scope.aws.dlq_name)
        for _ in range(10):
            # VisibilityTimeout 0: a look that leaves every message where it was.
            response = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            batch = [message["Body"] for message in response.get("Messages", [])]
            if not batch:
                break
            bodies.extend(batch)
    connection = await asyncpg.connect(libpq_url(scope.db_url))
    try:
        problems = []
        for body in set(bodies):
            video_id = _video_id(body)
            if video_id is None:
                continue  # a malformed message: dead-lettering it is the intended outcome
            row = await connection.fetchrow(
                "SELECT status, failure_reason FROM videos WHERE id = $1::uuid", video_id
            )
            if row is not None and not (row["status"] == "failed" and _coded(row["failure_reason"])):
                problems.append(f"dead-lettered video {video_id} is {row['status']} without a reason code")
        return problems
    finally:
        await connection.close()


def _coded(stored: str | None) -> bool:
    return stored is not None and decode(stored).code != ProcessingFailure.UNSPECIFIED


def _video_id(body: str) -> str | None:
    try:
        return str(uuid.UUID(str(json.loads(body)["video_id"])))
    except (ValueError, KeyError, TypeError):
        return None


def _live_worker_cache(name: str) -> bool:
    """A running worker keeps its brand assets in ``brand-<pid>``; only a dead worker's is left behind."""
    pid = owner_pid(name, "brand-")
    return pid is not None and alive(pid)


async def check(scope: Scope) -> list[str]:
    aws = Aws(scope.aws)
    problems: list[str] = []
    connection = await asyncpg.connect(libpq_url(scope.db_url))
    try:
        videos = await connection.fetch("SELECT id, status, original_key, processed_key FROM videos")
        pending_outbox = {
            row["video_id"]
            for row in await connection.fetch("SELECT video_id FROM outbox WHERE sent_at IS NULL")
        }
        vote_mismatch = await connection.fetch(
            "SELECT v.id, v.vote_count, count(vo.id) AS counted FROM videos v "
            "LEFT JOIN votes vo ON vo.video_id = v.id GROUP BY v.id HAVING v.vote_count <> count(vo.id)"
        )
        # Resumable uploads not yet videos: theirs are the objects and multipart uploads of their id
        # while they last; one expired longer ago than the sweeper needs was not swept.
        resumable = await connection.fetch(
            "SELECT id, expires_at < now() - make_interval(secs => $1) AS unswept FROM tus_uploads",
            SWEEP_MARGIN_S,
        )
        score_mismatch = await connection.fetch(
            "SELECT s.user_id, s.votes, coalesce(sum(v.vote_count), 0) AS counted FROM player_scores s "
            "LEFT JOIN videos v ON v.user_id = s.user_id AND v.published GROUP BY s.user_id, s.votes "
            "HAVING s.votes <> coalesce(sum(v.vote_count), 0)"
        )
    finally:
        await connection.close()

    ids = {row["id"] for row in videos}
    waiting = [row["id"] for row in videos if row["status"] in ("uploaded", "processing")]
    not_in_outbox = [video for video in waiting if video not in pending_outbox]
    depth = await _queue_depth(aws, scope.aws.queue_name)
    # SQS cannot be searched by video, so this is a counting argument: every unfinished video that
    # is not waiting in the outbox needs a message on the queue (visible, in flight or delayed).
    if len(not_in_outbox) > depth:
        problems.append(
            f"{len(not_in_outbox)} videos are uploaded/processing without an outbox row, "
            f"but the queue holds only {depth} messages: a job was lost ({not_in_outbox[:5]})"
        )

    in_progress = {row["id"] for row in resumable}
    for row in resumable:
        if row["unswept"]:
            problems.append(f"resumable upload {row['id']} expired over {SWEEP_MARGIN_S} s ago, not swept")
    uploads = await _keys(aws, UPLOADS_PREFIX)
    for key in sorted(uploads):
        owner = video_id_from_key(key)
        if owner not in ids and owner not in in_progress:
            problems.append(f"orphan object {key}: no video row nor upload in progress owns it")
    for row in videos:
        if row["original_key"] not in uploads:
            problems.append(f"video {row['id']} has no original object {row['original_key']}")
    problems.extend(await output_problems(scope))

    for key in await _open_multipart_uploads(aws):
        if video_id_from_key(key) not in in_progress:
            problems.append(f"open multipart upload left behind for {key}")

    if scope.temp_dir.exists():
        for leftover in sorted(scope.temp_dir.iterdir()):
            if not _live_worker_cache(leftover.name):
                problems.append(f"job folder left behind: {leftover}")

    if scope.spool_dir is not None and scope.spool_dir.exists():
        for leftover in sorted(scope.spool_dir.iterdir()):
            # A resumable upload's copy (upload-<pid>-tus-<id>-<random>) lives as long as the upload.
            _, _, copy_of = leftover.name.partition("-tus-")
            if copy_of[:36] not in {str(upload_id) for upload_id in in_progress}:
                problems.append(f"upload spool left behind: {leftover}")

    if not scope.allow_dlq:
        dead = await _queue_depth(aws, scope.aws.dlq_name)
        if dead:
            problems.append(f"{dead} messages in the dead-letter queue")

    for row in vote_mismatch:
        problems.append(f"video {row['id']} says {row['vote_count']} votes but has {row['counted']}")
    for row in score_mismatch:
        problems.append(f"player {row['user_id']} ranks with {row['votes']} votes but has {row['counted']}")
    return problems


async def settle(scope: Scope, timeout_s: float) -> None:
    """Wait (bounded) until no video is uploaded/processing, so that a check sees the end state."""
    connection = await asyncpg.connect(libpq_url(scope.db_url))
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            busy = await connection.fetchval(
                "SELECT count(*) FROM videos WHERE status IN ('uploaded', 'processing')"
            )
            if busy == 0:
                return
            await asyncio.sleep(0.5)
    finally:
        await connection.close()


_OUTPUT_COLUMNS = ("processed_key", "poster_key", "storyboard_key", "hls_key")


async def output_problems(scope: Scope, only: Collection[uuid.UUID] | None = None) -> list[str]:
    """What is wrong with the objects under processed/ (of the videos ``only`` names, or all): an
    object no row owns (a deleted video's MP4 or derivative), an object of a failed video, an object
    of a processed video that its row does not name (a poster of another version, a segment its
    playlist does not list), and a key a processed video names without its object. Videos still
    uploaded or processing are skipped: a job may be uploading."""
    aws = Aws(scope.aws)
    connection = await asyncpg.connect(libpq_url(scope.db_url))
    try:
        columns = ", ".join(("id", "status", *_OUTPUT_COLUMNS))
        if only is None:
            rows = await connection.fetch(f"SELECT {columns} FROM videos")  # noqa: S608 - constant names
        else:
            rows = await connection.fetch(
                f"SELECT {columns} FROM videos WHERE id = ANY($1::uuid[])",  # noqa: S608 - constant names
                list(only),
            )
    finally:
        await connection.close()
    stored: dict[uuid.UUID | None, set[str]] = defaultdict(set)
    prefixes = [PROCESSED_PREFIX] if only is None else [f"{PROCESSED_PREFIX}{video_id}" for video_id in only]
    for prefix in prefixes:
        for key in await _keys(aws, prefix):
            stored[video_id_from_key(key)].add(key)
    problems: list[str] = []
    named = {row["id"]: await _named_outputs(aws, row) for row in rows if row["status"] == "processed"}
    for row in rows:
        if row["id"] in named:
            missing = named[row["id"]] - stored.get(row["id"], set())
            problems.extend(f"processed video {row['id']} has no object {key}" for key in sorted(missing))
    statuses = {row["id"]: row["status"] for row in rows}
    for video_id, objects in sorted(stored.items(), key=lambda item: str(item[0])):
        status = statuses.get(video_id) if video_id is not None else None
        if status is None:
            problems.extend(f"orphan object {key}: no video row owns it" for key in sorted(objects))
        elif status == "failed":
            problems.extend(f"failed video {video_id} keeps object {key}" for key in sorted(objects))
        elif video_id in named:
            unnamed = sorted(objects - named[video_id])
            problems.extend(f"orphan derivative {key}: video {video_id} does not name it" for key in unnamed)
    return problems


async def _named_outputs(aws: Aws, row: asyncpg.Record) -> set[str]:
    """The objects a processed video's row names: its MP4, poster, storyboard and the sprite beside
    it, its playlist and what the playlist names (init and media segments, relative to it)."""
    named = {row[column] for column in _OUTPUT_COLUMNS if row[column] is not None}
    if row["storyboard_key"] is not None:
        named.add(sprite_key(row["id"]))
    if row["hls_key"] is not None:
        folder = PurePosixPath(row["hls_key"]).parent
        named.update(f"{folder}/{uri}" for uri in await _playlist_uris(aws, row["hls_key"]))
    return named


async def _playlist_uris(aws: Aws, key: str) -> list[str]:
    """The URIs an HLS playlist names (media segments, and the init segment of EXT-X-MAP); none when
    the playlist is missing (reported as such by the caller)."""
    async with aws.s3() as s3:
        try:
            response = await s3.get_object(Bucket=aws.settings.bucket, Key=key)
        except s3.exceptions.NoSuchKey:
            return []
        text = (await response["Body"].read()).decode()
    uris = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-MAP:") and 'URI="' in line:
            uris.append(line.split('URI="', 1)[1].split('"', 1)[0])
        elif line and not line.startswith("#"):
            uris.append(line)
    return uris


def main() -> None:
    parser = argparse.ArgumentParser(description="Check the platform's invariants (defaults: make run).")
    parser.add_argument("--allow-dlq", action="store_true", help="do not count dead letters as a problem")
    parser.add_argument("--settle", type=float, default=0.0, help="first wait up to N s for jobs to finish")
    parser.add_argument("--spool-dir", type=Path, default=Path(".devdata/ingest-temp"), help="ingest's spool")
    parser.add_argument(
        "--temp-dir", type=Path, default=Path(".devdata/anb-temp"), help="the transcoders' job folders"
    )
    args = parser.parse_args()
    scope = Scope(
        aws=AwsSettings(),
        db_url=DatabaseSettings().url,
        temp_dir=args.temp_dir,
        allow_dlq=args.allow_dlq,
        spool_dir=args.spool_dir,
    )
    if args.settle:
        asyncio.run(settle(scope, args.settle))
    problems = asyncio.run(check(scope))
    for problem in problems:
        print(f"VIOLATION: {problem}")
    print("invariants hold" if not problems else f"{len(problems)} invariant violations")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
