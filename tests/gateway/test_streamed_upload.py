"""A route marked as streamed: every refusal closes the connection, whoever answers it; a route that is
not marked keeps its connection; a refused token first drains what the client is still sending."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar, Request, Response, post
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.params import FromQuery
from litestar.testing import TestClient
from litestar.types import Message

from anb_gateway import errors, streamed_upload
from anb_gateway.authn import current_user
from anb_gateway.deps import CurrentUser
from anb_gateway.streamed_upload import STREAMED_ROUTE, drain
from anb_gateway.tokens import Tokens
from gateway.conftest import Gateway

TOKENS = Tokens("k" * 32, ttl_s=3600)
BEARER = {"Authorization": f"Bearer {TOKENS.issue(uuid.uuid4())}"}


async def answer(status: int, raised: bool) -> Response[Any]:
    """What the test routes do: raise as the gateway's code does, or answer with the status."""
    if status == 500:
        raise RuntimeError("a bug")
    if raised:
        raise HTTPException(status_code=status, detail="refused")
    return Response({"status_code": status, "detail": "answered"}, status_code=status)


@post("/streamed", **STREAMED_ROUTE)
async def streamed(
    user_id: CurrentUser, status: FromQuery[int], raised: FromQuery[bool] = False, n: FromQuery[int] = 0
) -> Response[Any]:
    return await answer(status, raised)


@post("/plain", dependencies={"user_id": Provide(current_user, sync_to_thread=False)})
async def plain(
    user_id: CurrentUser, status: FromQuery[int], raised: FromQuery[bool] = False, n: FromQuery[int] = 0
) -> Response[Any]:
    return await answer(status, raised)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    app = Litestar(
        route_handlers=[streamed, plain],
        dependencies={"tokens": Provide(lambda: TOKENS, sync_to_thread=False)},
        exception_handlers=errors.HANDLERS,
        logging_config=None,
    )
    with TestClient(app) as test_client:
        yield test_client


# (headers, query, the status it gets): a refused token (401), a parameter that does not parse (400
# from the validation handler), exceptions raised as the gateway's code raises them (413, 503),
# answers a handler returns (400, 502) and an unexpected error (500).
REFUSALS = [
    ({}, {"status": "202"}, 401),
    (BEARER, {"status": "202", "n": "many"}, 400),
    (BEARER, {"status": "413", "raised": "true"}, 413),
    (BEARER, {"status": "503", "raised": "true"}, 503),
    (BEARER, {"status": "400"}, 400),
    (BEARER, {"status": "502"}, 502),
    (BEARER, {"status": "500"}, 500),
]


@pytest.mark.parametrize(("path", "closes"), [("/streamed", True), ("/plain", False)])
@pytest.mark.parametrize(("headers", "params", "status"), REFUSALS)
def test_a_refusal_closes_the_connection_only_on_a_marked_route(
    client: TestClient[Litestar],
    path: str,
    closes: bool,
    headers: dict[str, str],
    params: dict[str, str],
    status: int,
) -> None:
    response = client.post(path, params=params, headers=headers, content=b"x" * 1000)
    assert response.status_code == status
    assert response.json()["status_code"] == status
    assert (response.headers.get("connection") == "close") is closes


def test_an_accepted_upload_keeps_its_connection(client: TestClient[Litestar]) -> None:
    response = client.post("/streamed", params={"status": "202"}, headers=BEARER, content=b"x")
    assert response.status_code == 202
    assert "connection" not in response.headers


def test_routing_errors_have_no_route_to_be_marked(client: TestClient[Litestar]) -> None:
    assert "connection" not in client.post("/nowhere").headers
    assert "connection" not in client.get("/streamed").headers


def _request(receive: Any) -> Request[Any, Any, Any]:
    scope = {
        "type": "http", "method": "POST", "path": "/streamed", "headers": [], "query_string": b"",
        "state": {}, "route_handler": streamed,
    }  # fmt: skip
    return Request(scope, receive)  # type: ignore[arg-type]


async def test_drain_reads_what_is_left_of_the_body() -> None:
    chunks = [b"a" * 10, b"b" * 10, b""]
    sent: list[bytes] = []

    async def receive() -> Message:
        chunk = chunks.pop(0)
        sent.append(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    await drain(_request(receive))
    assert chunks == []
    assert b"".join(sent) == b"a" * 10 + b"b" * 10


async def test_drain_gives_up_on_a_client_that_never_finishes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streamed_upload, "_DRAIN_S", 0.2)

    async def receive() -> Message:
        await asyncio.sleep(0.01)
        return {"type": "http.request", "body": b"x", "more_body": True}

    await asyncio.wait_for(drain(_request(receive)), 5)


async def test_a_refused_upload_closes_the_connection_instead_of_leaving_the_body_unread(
    gateway: Gateway,
) -> None:
    # Through the real gateway: a client still sending its (large) body gets the 401 and a closed
    # connection, not a hang or a reset.
    host, port = gateway.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /api/videos/upload HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 50000000\r\n\r\n"
    )
    writer.write(head.encode() + b"\0" * 65536)
    await writer.drain()
    reply = await asyncio.wait_for(reader.read(), 120)  # read() returns only once the server closes
    writer.close()
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line.split()[1] == b"401"
    assert b"connection: close" in rest.lower()
