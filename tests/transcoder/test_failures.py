"""Which failures the worker logs in one line (a dependency away) and which keep their traceback
(a bug); the dependency failures are raised for real where a test can cause them."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable

import asyncpg
import botocore.exceptions
import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.aws import Aws
from anb_common.db.engine import create_engine, session_factory
from anb_common.logs import JsonFormatter
from anb_common.settings import AwsSettings, DatabaseSettings
from anb_devstack.moto import free_port
from anb_transcoder.failures import describe, is_dependency_failure, log_failure
from anb_transcoder.storage import MissingObject, Storage
from anb_transcoder.videos import VideoStore


def _wrapped_by_sqlalchemy(error: Exception) -> sqlalchemy.exc.DBAPIError:
    """What SQLAlchemy's asyncpg dialect raises for ``error``: a DBAPIError raised from it."""
    try:
        try:
            raise error
        except Exception as inner:
            raise sqlalchemy.exc.DBAPIError("SELECT 1", None, inner) from inner
    except sqlalchemy.exc.DBAPIError as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        OSError(28, "No space left on device"),
        botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1/"),
        botocore.exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:1/"),
        botocore.exceptions.ClientError({"Error": {"Code": "SlowDown", "Message": "Reduce"}}, "PutObject"),
        MissingObject("resources/logo.png"),
        sqlalchemy.exc.TimeoutError("QueuePool limit reached"),
        _wrapped_by_sqlalchemy(
            asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        ),
        _wrapped_by_sqlalchemy(asyncpg.InternalClientError("cannot switch to state 12")),
    ],
    ids=repr,
)
def test_a_dependency_away_is_a_dependency_failure(error: Exception) -> None:
    assert is_dependency_failure(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug of ours"),
        KeyError("missing"),
        botocore.exceptions.ParamValidationError(report="Unknown parameter"),
        _wrapped_by_sqlalchemy(asyncpg.exceptions.UndefinedColumnError("column does not exist")),
    ],
    ids=repr,
)
def test_bugs_are_not(error: Exception) -> None:
    assert not is_dependency_failure(error)


async def _raised(call: Awaitable[object]) -> BaseException:
    with pytest.raises(Exception) as raised:  # noqa: PT011 - whatever the call raises is the subject
        await call
    return raised.value


async def test_storage_and_database_out_of_reach_are_dependency_failures(aws_settings: AwsSettings) -> None:
    closed = free_port()
    aws = Aws(
        aws_settings.model_copy(update={"endpoint_url": f"http://127.0.0.1:{closed}", "max_attempts": 1})
    )
    async with aws.s3() as s3:
        assert is_dependency_failure(await _raised(Storage(s3, "bucket").ping()))
    engine = create_engine(DatabaseSettings(url=f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/postgres"))
    try:
        assert is_dependency_failure(await _raised(VideoStore(session_factory(engine)).ping()))
    finally:
        await engine.dispose()


async def test_a_session_the_server_ended_is_a_dependency_failure_and_a_bad_query_is_not(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as ended, sessions() as other:
        pid = (await ended.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        error = await _raised(ended.execute(text("SELECT 1")))
    assert is_dependency_failure(error)
    async with sessions() as session:
        assert not is_dependency_failure(await _raised(session.execute(text("SELECT no_such_column"))))


def _formatted(caplog: pytest.LogCaptureFixture) -> dict[str, object]:
    (record,) = caplog.records
    line = JsonFormatter("transcoder").format(record)
    assert "\n" not in line
    entry: dict[str, object] = json.loads(line)
    return entry


def test_a_dependency_failure_is_one_line_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    error = _wrapped_by_sqlalchemy(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    with caplog.at_level(logging.INFO):
        log_failure(logging.getLogger("anb_transcoder.test"), "step failed; retrying", error, step="upload")
    (record,) = caplog.records
    assert (record.levelno, record.exc_info) == (logging.WARNING, None)
    entry = _formatted(caplog)
    assert "exc" not in entry
    assert entry["step"] == "upload"
    # The class and the first line of SQLAlchemy's message, not the statement after it.
    assert entry["error"] == describe(error)
    assert str(entry["error"]).startswith("DBAPIError: ")
    assert "SELECT 1" not in str(entry["error"])


def test_anything_else_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    try:
        int("twelve")
    except ValueError as error:
        with caplog.at_level(logging.INFO):
            log_failure(logging.getLogger("anb_transcoder.test"), "job failed", error)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    entry = _formatted(caplog)
    assert entry["error"] == "ValueError: invalid literal for int() with base 10: 'twelve'"
    assert "Traceback" in str(entry["exc"])
