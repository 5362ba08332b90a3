"""One PostgreSQL role per service, holding only the privileges its queries use.

The master user owns the schema and runs the migrations; nothing else connects as it. Right after the
migrations, in the same session and under the same advisory lock (deploy/bootstrap/migrate_once.py),
``apply`` creates each service's role (or updates its password) and sets its privileges to exactly
what ``ROLES`` lists: everything else a role held on the schema's tables and sequences is revoked in
the same transaction, so a re-run converges and services never see a moment without their grants.

What the lists say, read from each service's queries: the gateway owns accounts, publication, votes
and rankings, and deletes videos, but never touches the outbox or a video's processing state; ingest
inserts a video and its job, moves a processed video to the poster its owner picked, and reads only
``users.id``/``users.city`` (the insert trigger of migration 0004 copies the owner's city and runs as
the inserting role), never a password hash, a vote or a score; the transcoder reads videos and
writes only their processing columns, and sees no other table. Foreign-key checks and ``ON DELETE
CASCADE`` run as the tables' owner, so deleting a video needs no privilege on ``votes``.

No ``ALTER DEFAULT PRIVILEGES``: a table a migration adds is invisible to every service until it is
listed here, which fails closed (and tests/common/test_grants.py fails until it is).

Passwords reach the server as SCRAM-SHA-256 verifiers computed here, never as plain text, so no
statement log or ``pg_stat_activity`` row shows one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from anb_common.settings import section


@dataclass(frozen=True)
class Table:
    name: str
    privileges: tuple[str, ...] = ()
    """Table-wide privileges (SELECT, INSERT, UPDATE, DELETE)."""
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Privileges on some columns only: privilege -> columns."""


@dataclass(frozen=True)
class ServiceRole:
    service: str
    name: str
    """The login role; equals the ``username`` of the service's database secret in the template."""
    tables: tuple[Table, ...]
    sequences: tuple[str, ...] = ()
    """Sequences the role draws from (USAGE: nextval for a serial column's default)."""


_PROCESSING_COLUMNS = (
    "processing_started_at",
    "processed_at",
    "processed_key",
    "failure_reason",
    "lease_holder",
    "lease_message_id",
    "lease_expires_at",
    "poster_key",
    "storyboard_key",
    "hls_key",
    "footage_start_s",
    "footage_s",
)
"""The video's processing state besides status and progress, and what the processing made beside
the MP4 (and where the footage lies in it): the transcoder's to write."""

ROLES = (
    ServiceRole(
        "gateway",
        "anb_gateway",
        (
            # Sign-up, login, rehashing at login; usernames and cities for listings and rankings.
            Table("users", ("SELECT", "INSERT"), {"UPDATE": ("password_hash",)}),
            # The owner's listing and detail, publishing, votes' totals, deletion.
            Table("videos", ("SELECT", "DELETE"), {"UPDATE": ("published", "vote_count")}),
            # One vote per player and video: INSERT ... ON CONFLICT (user_id, video_id) DO NOTHING
            # RETURNING id reads those three columns, so SELECT is needed (created_at is all it adds).
            Table("votes", ("SELECT", "INSERT")),
            # A ranking row at publication, its total moved with each vote.
            Table("player_scores", ("SELECT", "INSERT"), {"UPDATE": ("votes",)}),
        ),
    ),
    ServiceRole(
        "ingest",
        "anb_ingest",
        (
            # Only what the owner-city trigger reads when ingest inserts a video.
            Table("users", columns={"SELECT": ("id", "city")}),
            # The new row, never its votes or publication; reads for the crash recovery and the server
            # defaults SQLAlchemy reads back after the insert. The ORM's INSERT also names every
            # nullable column it leaves empty (the processing ones, as NULL), so those are listed too.
            Table(
                "videos",
                ("SELECT",),
                {
                    "INSERT": (
                        "id",
                        "user_id",
                        "title",
                        "status",
                        "original_key",
                        "container",
                        "codec",
                        "size_bytes",
                        "duration_s",
                        "width",
                        "height",
                        "checksum_sha256",
                        *_PROCESSING_COLUMNS,
                    ),
                    # The poster the owner picks (POST /api/videos/{id}/poster, relayed by the
                    # gateway): ingest extracts it from the processed MP4 and stores its new key.
                    "UPDATE": ("poster_key", "poster_version"),
                },
            ),
            # The transactional outbox: write a job, lock pending rows, mark them sent.
            Table(
                "outbox",
                ("SELECT",),
                {"INSERT": ("video_id", "body", "sent_at", "request_id"), "UPDATE": ("attempts", "sent_at")},
            ),
            # Resumable uploads in progress (anb_ingest.tus): ingest alone creates, leases, advances,
            # and removes them (when the video is recorded, or the upload terminated, refused, expired).
            Table("tus_uploads", ("SELECT", "INSERT", "UPDATE", "DELETE")),
        ),
        sequences=("outbox_id_seq",),
    ),
    ServiceRole(
        "transcoder",
        "anb_transcoder",
        (
            # Claims, leases, progress and outcome; nothing that belongs to players or votes.
            Table("videos", ("SELECT",), {"UPDATE": ("status", "progress", *_PROCESSING_COLUMNS)}),
        ),
    ),
)

MASTER_ONLY = frozenset({"alembic_version"})
"""Tables no service role may touch."""


class ServicePasswords(BaseSettings):
    """The service roles' passwords, given to the migration step only (each service's own password
    reaches it inside its ANB_DB_URL). On AWS each comes from the service's database secret."""

    model_config = section("ANB_DB_ROLE_")

    gateway_password: SecretStr
    """Password of the anb_gateway role."""
    ingest_password: SecretStr
    """Password of the anb_ingest role."""
    transcoder_password: SecretStr
    """Password of the anb_transcoder role."""

    def of(self, role: ServiceRole) -> str:
        secret: SecretStr = getattr(self, f"{role.service}_password")
        return secret.get_secret_value()


_SCRAM_ITERATIONS = 4096  # PostgreSQL's own default (scram_iterations)


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = _SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 secret PostgreSQL stores for ``password`` (RFC 5802, RFC 7677), in the form
    ``CREATE ROLE ... PASSWORD`` accepts as already hashed. Printable ASCII only: PostgreSQL would
    SASLprep anything else first, and the generated secrets are alphanumeric."""
    if not password or not all(" " <= char <= "~" for char in password):
        raise ValueError("a role password must be non-empty printable ASCII")
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def grant_statements(role: ServiceRole) -> list[str]:
    """The GRANTs that give ``role`` exactly its listed privileges."""
    grantee = _identifier(role.name)
    statements = []
    for table in role.tables:
        target = f"public.{_identifier(table.name)}"
        if table.privileges:
            statements.append(f"GRANT {', '.join(table.privileges)} ON TABLE {target} TO {grantee}")
        for privilege, columns in table.columns.items():
            listed = ", ".join(map(_identifier, columns))
            statements.append(f"GRANT {privilege} ({listed}) ON TABLE {target} TO {grantee}")
    statements.extend(
        f"GRANT USAGE ON SEQUENCE public.{_identifier(sequence)} TO {grantee}" for sequence in role.sequences
    )
    return statements


async def apply(connection: asyncpg.Connection, passwords: ServicePasswords) -> None:
    """Create or update every service role with its password and exactly its privileges.

    Run as the master user (it owns the tables and may create roles); idempotent. A role that
    exists gets its password again, so a rotated secret takes effect at the next deployment."""
    async with connection.transaction():
        database = await connection.fetchval("SELECT current_database()")
        for role in ROLES:
            exists = await connection.fetchval("SELECT true FROM pg_roles WHERE rolname = $1", role.name)
            # CREATE ROLE defaults to NOSUPERUSER NOCREATEDB NOCREATEROLE; ALTER names no attribute
            # but LOGIN, since RDS's master may not touch SUPERUSER even to deny it.
            verb = "ALTER" if exists else "CREATE"
            verifier = scram_verifier(passwords.of(role))
            await connection.execute(
                f"{verb} ROLE {_identifier(role.name)} LOGIN PASSWORD {_literal(verifier)}"
            )
        grantees = ", ".join(_identifier(role.name) for role in ROLES)
        await connection.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {grantees}")
        await connection.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {grantees}")
        await connection.execute(f"GRANT CONNECT ON DATABASE {_identifier(database)} TO {grantees}")
        await connection.execute(f"GRANT USAGE ON SCHEMA public TO {grantees}")
        for role in ROLES:
            for statement in grant_statements(role):
                await connection.execute(statement)
