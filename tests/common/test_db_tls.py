"""TLS to PostgreSQL with the certificate verified (ANB_DB_SSL_ROOT_CERT): the session's PostgreSQL
behind a certificate from a CA made here (anb_devstack.pgtls answers the TLS request as RDS does; the
embedded build has no SSL of its own). Each way the services connect (SQLAlchemy's engine, the
gateway's asyncpg pool, its change feed) negotiates TLS and verifies the server; a wrong CA or a
certificate for another host is refused."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from sqlalchemy import text

from anb_common.db import tls
from anb_common.db.dsn import libpq_url
from anb_common.db.engine import create_engine
from anb_common.settings import DatabaseSettings
from anb_devstack.moto import free_port
from anb_devstack.pgtls import TlsTerminator
from anb_devstack.postgres import EmbeddedPostgres
from anb_gateway import db
from anb_gateway.changes import ChangeFeed


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def terminator(
    ca: trustme.CA, postgres: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsTerminator]:
    # The certificate names the address the services use, as RDS's names its endpoint.
    folder = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(folder / "server.crt"))
    cert.private_key_pem.write_to_path(str(folder / "server.key"))
    started = TlsTerminator(
        free_port(), postgres.port, str(folder / "server.crt"), str(folder / "server.key")
    )
    started.start()
    yield started
    started.stop()


def _bundle(ca: trustme.CA, folder: Path) -> Path:
    path = folder / f"ca-{uuid.uuid4().hex[:6]}.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _settings(terminator: TlsTerminator, bundle: Path, host: str = "127.0.0.1") -> DatabaseSettings:
    return DatabaseSettings(
        url=f"postgresql+asyncpg://postgres@{host}:{terminator.listen_port}/anb", ssl_root_cert=bundle
    )


async def test_the_engine_connects_over_verified_tls(
    terminator: TlsTerminator, ca: trustme.CA, tmp_path: Path
) -> None:
    before = terminator.sessions
    engine = create_engine(_settings(terminator, _bundle(ca, tmp_path)))
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()
    assert terminator.sessions > before


async def test_the_gateway_pool_and_change_feed_connect_over_verified_tls(
    terminator: TlsTerminator, ca: trustme.CA, tmp_path: Path
) -> None:
    settings = _settings(terminator, _bundle(ca, tmp_path))
    before = terminator.sessions
    pool = await db.create_pool(settings)
    try:
        assert await pool.fetchval("SELECT 1") == 1
    finally:
        await pool.close()
    assert terminator.sessions == before + 1
    listening = _Listings()
    feed = ChangeFeed(libpq_url(settings.url), listening, tls.client_context(settings))
    feed.start()
    try:
        await asyncio.wait_for(listening.serving.wait(), 60)
    finally:
        await feed.close()
    assert terminator.sessions == before + 2


async def test_a_server_whose_certificate_another_ca_signed_is_refused(
    terminator: TlsTerminator, tmp_path: Path
) -> None:
    stranger = _settings(terminator, _bundle(trustme.CA(), tmp_path))
    engine = create_engine(stranger)
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    pool = await db.create_pool(stranger)  # opens nothing until used
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            await pool.fetchval("SELECT 1")
    finally:
        await pool.close()


async def test_a_certificate_for_another_host_is_refused(
    terminator: TlsTerminator, ca: trustme.CA, tmp_path: Path
) -> None:
    # The same server, reached by a name its certificate does not carry.
    engine = create_engine(_settings(terminator, _bundle(ca, tmp_path), host="localhost"))
    try:
        with pytest.raises(ssl.SSLCertVerificationError, match="match"):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()


def test_without_a_bundle_nothing_changes() -> None:
    assert tls.client_context(DatabaseSettings()) is None
    assert tls.connect_args(DatabaseSettings()) == {}


class _Listings:
    def __init__(self) -> None:
        self.serving = asyncio.Event()

    def changed(self, owner: uuid.UUID) -> None: ...
    def clear(self) -> None: ...

    def start_serving(self) -> None:
        self.serving.set()

    def stop_serving(self) -> None: ...
