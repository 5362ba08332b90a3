"""anb_common.db.grants on a real PostgreSQL: each service's own code runs as its role, what it has no
business doing is refused, passwords work (SCRAM), and a second run converges.

The server is this module's own (roles are cluster-wide), set up as RDS is: the master user ``anb``
is not a superuser but may create roles, owns the database and runs the migrations; the service
roles must authenticate with their passwords (scram-sha-256 in pg_hba.conf), as on RDS.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from fractions import Fraction

import asyncpg
import pytest
from sqlalchemy import select

from anb_common import keys
from anb_common.db import grants
from anb_common.db.engine import create_engine, session_factory
from anb_common.db.migrate import upgrade
from anb_common.db.models import Video
from anb_common.media import Container, MediaFacts
from anb_common.reasons import ProcessingFailure, Reason
from anb_common.settings import DatabaseSettings
from anb_devstack.moto import free_port
from anb_devstack.postgres import EmbeddedPostgres
from anb_gateway.db import create_pool
from anb_gateway.repositories import public, users, videos
from anb_ingest.outbox import Outbox
from anb_ingest.records import NewVideo, record
from anb_transcoder.videos import DerivativeKeys, Footage, Lease, Pending, Start, VideoStore

DATABASE = "grants"
PASSWORDS = {"gateway": "gatewaySecret1", "ingest": "ingestSecret2", "transcoder": "transcoderSecret3"}


def _passwords(**changed: str) -> grants.ServicePasswords:
    values = {**PASSWORDS, **changed}
    return grants.ServicePasswords.model_validate({f"{service}_password": v for service, v in values.items()})


class Server:
    def __init__(self, postgres: EmbeddedPostgres) -> None:
        self.postgres = postgres

    def dsn(self, user: str, password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.postgres.port}/{DATABASE}"

    def url(self, user: str, password: str | None = None) -> str:
        return self.dsn(user, password).replace("postgresql://", "postgresql+asyncpg://", 1)

    def service_dsn(self, service: str) -> str:
        return self.dsn(f"anb_{service}", PASSWORDS[service])

    async def apply(self, passwords: grants.ServicePasswords) -> None:
        master = await asyncpg.connect(self.dsn("anb"))
        try:
            await grants.apply(master, passwords)
        finally:
            await master.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    postgres = EmbeddedPostgres(tmp_path_factory.mktemp("grants") / "pg", free_port(), say=lambda _: None)
    postgres.init()
    postgres.start()
    # The service roles authenticate with passwords, as on RDS; everyone else keeps initdb's trust.
    hba = postgres.datadir / "pg_hba.conf"
    roles = ",".join(role.name for role in grants.ROLES)
    hba.write_text(f"host all {roles} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())

    async def prepare() -> None:
        admin = await asyncpg.connect(postgres.dsn)
        try:
            await admin.execute("SELECT pg_reload_conf()")
            await admin.execute("CREATE ROLE anb LOGIN CREATEROLE")
            await admin.execute(f"CREATE DATABASE {DATABASE} OWNER anb")
        finally:
            await admin.close()

    asyncio.run(prepare())
    ready = Server(postgres)
    upgrade(ready.url("anb"))
    try:
        yield ready
    finally:
        postgres.stop()


@pytest.fixture(scope="module")
async def granted(server: Server) -> Server:
    await server.apply(_passwords())
    return server


class _Queue:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, body: str, request_id: str | None) -> None:
        self.sent.append(body)


def _new_video(user_id: uuid.UUID) -> NewVideo:
    video_id = uuid.uuid4()
    facts = MediaFacts(
        container=Container.MP4,
        codec="h264",
        width=1920,
        height=1080,
        duration_s=30.0,
        fps=Fraction(30),
        rotation=0,
        pix_fmt="yuv420p",
    )
    return NewVideo(video_id, user_id, "Triple", f"uploads/{video_id}.mp4", 1000, "0" * 64, facts)


async def test_each_service_runs_its_own_code_as_its_own_role(granted: Server) -> None:
    gateway = await create_pool(DatabaseSettings(url=granted.url("anb_gateway", PASSWORDS["gateway"])))
    ingest_engine = create_engine(DatabaseSettings(url=granted.url("anb_ingest", PASSWORDS["ingest"])))
    transcoder_engine = create_engine(
        DatabaseSettings(url=granted.url("anb_transcoder", PASSWORDS["transcoder"]))
    )
    try:
        # Gateway: sign-up, login lookup, rehash.
        owner_email = f"{uuid.uuid4().hex[:8]}@example.com"
        owner = await users.create(
            gateway, users.NewUser("Ana", "Ruiz", owner_email, "hash-1", "Bogotá", "CO")
        )
        voter = await users.create(
            gateway,
            users.NewUser("Luis", "Paz", f"{uuid.uuid4().hex[:8]}@example.com", "hash-2", "Cali", "CO"),
        )
        assert await users.credentials(gateway, owner_email.upper()) == (owner, "hash-1")
        await users.replace_hash(gateway, owner, "hash-3")

        # Ingest: the video and its job in one transaction, published at once and by the relay;
        # the crash recovery's lookup of an object's owner.
        ingest = session_factory(ingest_engine)
        queue = _Queue()
        kept, dropped = _new_video(owner), _new_video(owner)
        await Outbox(ingest).publish_one(queue, await record(ingest, kept), lock_timeout_s=5)
        await record(ingest, dropped)
        assert await Outbox(ingest).publish_pending(queue, limit=10, older_than_s=0) == 1
        assert len(queue.sent) == 2
        async with ingest() as session:
            assert (
                await session.scalar(select(Video.id).where(Video.original_key == kept.key)) == kept.video_id
            )

        # Transcoder: claim, lease, progress, result; a failure; hand-back; the checks it makes.
        store = VideoStore(session_factory(transcoder_engine))
        lease = Lease(holder=uuid.uuid4(), message_id="m-1", seconds=300)
        claim = await store.start(kept.video_id, lease)
        assert (claim.outcome, claim.original_key) == (Start.STARTED, kept.key)
        assert await store.renew(kept.video_id, lease)
        assert await store.progress(kept.video_id, 50)
        derived = DerivativeKeys(
            keys.poster_key(kept.video_id, 0),
            keys.storyboard_key(kept.video_id),
            keys.hls_playlist_key(kept.video_id),
        )
        footage = Footage(start_s=2.5, length_s=21.0)
        assert await store.processed(kept.video_id, keys.processed_key(kept.video_id), derived, footage)
        # The backfill's lookup and update, for videos processed before derivatives existed.
        assert kept.video_id not in {item.video_id for item in await store.without_derivatives(10)}
        pending = Pending(kept.video_id, keys.processed_key(kept.video_id), None, 0)
        assert await store.derived(pending, derived, footage) == derived.poster
        await store.release(kept.video_id, lease)
        assert (await store.start(kept.video_id, lease)).outcome is Start.DONE
        assert await store.failed(dropped.video_id, Reason(ProcessingFailure.DAMAGED))
        assert await store.exists(dropped.video_id)
        await store.ping()

        # Gateway: listing, detail, publication, votes, public listing and rankings, deletion, health.
        listed = {row.id for row in await videos.list_for_owner(gateway, owner, 10, 0)}
        assert listed == {dropped.video_id, kept.video_id}
        assert (await videos.get(gateway, kept.video_id)) is not None
        assert await videos.publish(gateway, kept.video_id, owner) is videos.Outcome.DONE
        assert await public.vote(gateway, voter, kept.video_id) is public.VoteOutcome.COUNTED
        assert await public.vote(gateway, voter, kept.video_id) is public.VoteOutcome.DUPLICATE
        assert [row.votes for row in await public.published(gateway, None, 10, 0)] == [1]
        assert [row.votes for row in await public.published(gateway, "Bogotá", 10, 0)] == [1]
        assert [row.votes for row in await public.rankings(gateway, None, 10, 0)] == [1]
        assert [row.votes for row in await public.rankings(gateway, "Bogotá", 10, 0)] == [1]

        async def no_objects(_: videos.VideoRow) -> None:
            return None

        assert await videos.delete(gateway, dropped.video_id, owner, no_objects) is videos.Outcome.DONE
        assert await gateway.fetchval("SELECT 1") == 1
        # The listing change feed's session (anb_gateway.changes): LISTEN needs no grant, but it must log in.
        feed = await asyncpg.connect(granted.service_dsn("gateway"))
        try:
            await feed.add_listener("video_owner_changes", lambda *_: None)
        finally:
            await feed.close()
    finally:
        await gateway.close()
        await ingest_engine.dispose()
        await transcoder_engine.dispose()


_VIDEO = "'00000000-0000-0000-0000-000000000001'"
_INSERT_VIDEO = (
    "INSERT INTO videos (id, user_id, title, status, original_key, container, codec, size_bytes,"
    f" duration_s, width, height, checksum_sha256{{extra_columns}}) VALUES ({_VIDEO}, {_VIDEO}, 't',"
    f" 'uploaded', 'k', 'mp4', 'h264', 1, 30, 1920, 1080, 'x'{{extra_values}})"
)

FORBIDDEN = [
    # The transcoder parses hostile media: it sees no account, vote or job table, and cannot touch
    # what players own.
    ("transcoder", "SELECT email, password_hash FROM users"),
    ("transcoder", "SELECT count(*) FROM users"),
    ("transcoder", "SELECT * FROM votes"),
    ("transcoder", "UPDATE player_scores SET votes = votes + 1"),
    ("transcoder", "UPDATE videos SET vote_count = vote_count + 1"),
    ("transcoder", "UPDATE videos SET published = true"),
    ("transcoder", "UPDATE videos SET user_id = user_id"),
    ("transcoder", "DELETE FROM videos"),
    ("transcoder", "INSERT INTO outbox (video_id, body) VALUES (gen_random_uuid(), '{}')"),
    ("transcoder", _INSERT_VIDEO.format(extra_columns="", extra_values="")),
    # Ingest parses hostile media too: no password hashes, no votes, no scores, no state changes.
    ("ingest", "SELECT password_hash FROM users"),
    ("ingest", "SELECT email FROM users"),
    ("ingest", "UPDATE votes SET user_id = user_id"),
    ("ingest", "DELETE FROM votes"),
    (
        "ingest",
        "INSERT INTO votes (id, user_id, video_id)"
        " VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid())",
    ),
    ("ingest", "UPDATE player_scores SET votes = votes + 1"),
    ("ingest", "UPDATE videos SET vote_count = 1000"),
    ("ingest", "UPDATE videos SET status = 'processed'"),
    ("ingest", "DELETE FROM videos"),
    ("ingest", "DELETE FROM outbox"),
    ("ingest", _INSERT_VIDEO.format(extra_columns=", published, vote_count", extra_values=", true, 1000")),
    # The gateway never handles jobs or processing state, and never deletes accounts or votes itself.
    ("gateway", "DELETE FROM outbox"),
    ("gateway", "SELECT * FROM outbox"),
    ("gateway", "SELECT nextval('outbox_id_seq')"),
    ("gateway", "UPDATE videos SET status = 'processed'"),
    ("gateway", "UPDATE videos SET processed_key = 'elsewhere'"),
    ("gateway", _INSERT_VIDEO.format(extra_columns="", extra_values="")),
    ("gateway", "DELETE FROM users"),
    ("gateway", "DELETE FROM votes"),
    ("gateway", "UPDATE users SET email = 'x@example.com'"),
    # Nobody but the master changes the schema or reads Alembic's bookkeeping.
    *[(service, "CREATE TABLE evil (id int)") for service in PASSWORDS],
    *[(service, "DROP TABLE videos") for service in PASSWORDS],
    *[(service, "TRUNCATE videos") for service in PASSWORDS],
    *[(service, "SELECT * FROM alembic_version") for service in PASSWORDS],
]


@pytest.mark.parametrize(("service", "statement"), FORBIDDEN, ids=[f"{s}: {q[:60]}" for s, q in FORBIDDEN])
async def test_what_a_service_does_not_use_is_refused(granted: Server, service: str, statement: str) -> None:
    connection = await asyncpg.connect(granted.service_dsn(service))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute(statement)
    finally:
        await connection.close()


async def test_every_table_is_granted_to_someone_or_kept_for_the_master(granted: Server) -> None:
    connection = await asyncpg.connect(granted.dsn("anb"))
    try:
        tables = {
            row["tablename"]
            for row in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        sequences = {
            row["sequencename"]
            for row in await connection.fetch(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
            )
        }
    finally:
        await connection.close()
    listed = {table.name for role in grants.ROLES for table in role.tables}
    # A table a migration adds must be given to the services that use it (or kept from all of them).
    assert tables == listed | grants.MASTER_ONLY
    assert {sequence for role in grants.ROLES for sequence in role.sequences} <= sequences


async def test_passwords_are_checked_and_a_rerun_rotates_them_and_removes_stray_grants(
    granted: Server,
) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(granted.dsn("anb_transcoder", "wrong"))
    master = await asyncpg.connect(granted.dsn("anb"))
    try:
        # Drift: someone granted the transcoder more by hand, table-wide and on a column.
        await master.execute("GRANT SELECT ON users TO anb_transcoder")
        await master.execute("GRANT UPDATE (vote_count) ON videos TO anb_transcoder")
        await grants.apply(master, _passwords(transcoder="rotatedSecret4"))
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(granted.service_dsn("transcoder"))
        transcoder = await asyncpg.connect(granted.dsn("anb_transcoder", "rotatedSecret4"))
        try:
            for statement in ("SELECT count(*) FROM users", "UPDATE videos SET vote_count = 0"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await transcoder.execute(statement)
            assert await transcoder.fetchval("SELECT count(*) FROM videos") >= 0
        finally:
            await transcoder.close()
        # Put the module's passwords back for the other tests.
        await grants.apply(master, _passwords())
        # No password is kept in the clear, and the verifier is what PostgreSQL itself would store.
        assert (
            await master.fetchval(
                "SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = 'anb_ingest'"
            )
            is False
        )
    finally:
        await master.close()


def test_a_verifier_is_postgresql_s_scram_format() -> None:
    verifier = grants.scram_verifier("pencil", salt=b"0123456789abcdef", iterations=4096)
    algorithm, rest = verifier.split("$", 1)
    assert algorithm == "SCRAM-SHA-256"
    assert rest.startswith("4096:MDEyMzQ1Njc4OWFiY2RlZg==$")
    with pytest.raises(ValueError, match="printable ASCII"):
        grants.scram_verifier("contraseña")
