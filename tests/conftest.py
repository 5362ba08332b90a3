"""Session fixtures: a real moto server and a real PostgreSQL (migrated), torn down after the run."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from anb_common.aws import Aws
from anb_common.db.engine import create_engine, session_factory
from anb_common.db.migrate import upgrade
from anb_common.settings import AwsSettings, DatabaseSettings
from anb_devstack.moto import MotoServer, free_port
from anb_devstack.postgres import EmbeddedPostgres
from anb_devstack.provision import provision


@pytest.fixture(scope="session")
def session_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="anb-tests-"))
    yield path
    # ANB_KEEP_TEST_TMP=1 keeps the platforms' logs and data for a post-mortem.
    if not os.environ.get("ANB_KEEP_TEST_TMP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_url(moto_server: MotoServer) -> str:
    return moto_server.url


@pytest.fixture(scope="session")
def postgres(session_tmp: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(session_tmp / "pg", free_port())
    server.init()
    server.start()
    upgrade(server.url)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def db_settings(postgres: EmbeddedPostgres) -> DatabaseSettings:
    return DatabaseSettings(url=postgres.url)


@pytest.fixture(scope="session")
def aws_settings(moto_url: str) -> AwsSettings:
    # A bucket and queue pair per test session keeps runs independent of each other.
    suffix = uuid.uuid4().hex[:8]
    return AwsSettings(
        endpoint_url=moto_url,
        bucket=f"anb-test-{suffix}",
        queue_name=f"processing-queue-{suffix}",
        dlq_name=f"processing-queue-dlq-{suffix}",
    )


@pytest.fixture(scope="session")
async def aws(aws_settings: AwsSettings) -> Aws:
    aws = Aws(aws_settings)
    await provision(aws)
    return aws


@pytest.fixture(scope="session")
def service_env(postgres: EmbeddedPostgres, aws_settings: AwsSettings, session_tmp: Path) -> dict[str, str]:
    """Environment for a service started as a real process against the session's moto and PostgreSQL."""
    return {
        **os.environ,
        "ANB_DEV_MODE": "true",
        "ANB_DEVDATA_DIR": str(session_tmp / "devdata"),
        "ANB_DB_URL": postgres.url,
        "ANB_AWS_ENDPOINT_URL": aws_settings.endpoint_url or "",
        "ANB_AWS_BUCKET": aws_settings.bucket,
        "ANB_AWS_QUEUE_NAME": aws_settings.queue_name,
        "ANB_AWS_DLQ_NAME": aws_settings.dlq_name,
        "ANB_PROCESSING_TEMP_DIR": str(session_tmp / "anb-temp"),
        "ANB_JWT_SECRET": "test-jwt-secret-" + "x" * 32,
        "ANB_INTERNAL_SECRET": "test-internal-secret-" + "y" * 32,
    }


@pytest.fixture(scope="session")
async def engine(db_settings: DatabaseSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_settings)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)
