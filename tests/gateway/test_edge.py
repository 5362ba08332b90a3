"""What every response shares: request ids, security headers, JSON errors, health, docs, CORS, throttling;
and how the gateway behaves when its database and ingest are unreachable."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient, TestClient

from anb_common.metrics import Metrics
from anb_devstack.moto import free_port
from anb_gateway import errors, wording
from anb_gateway.app import build
from anb_gateway.middleware import EdgeMiddleware
from anb_gateway.settings import GatewaySettings, HttpSettings
from gateway.conftest import Gateway, Player, start_gateway, stop_gateway

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize(
    "path", ["/api/health", "/api/public/rankings", "/api/videos", "/api/nowhere", "/api/docs"]
)
async def test_every_response_has_security_headers_and_a_request_id(
    api: httpx.AsyncClient, path: str
) -> None:
    response = await api.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert len(response.headers["x-request-id"]) >= 16


async def test_a_callers_request_id_is_kept_and_a_bad_one_replaced(api: httpx.AsyncClient) -> None:
    kept = await api.get("/api/health", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await api.get("/api/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


async def test_private_answers_are_not_cached_public_ones_may_be(
    api: httpx.AsyncClient, owner: Player
) -> None:
    assert (await api.get("/api/videos", headers=owner.auth)).headers["cache-control"] == "no-store"
    assert "cache-control" not in (await api.get("/api/public/rankings")).headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/nowhere", 404), ("PUT", "/api/health", 405), ("GET", "/api/videos/upload", 405)],
)
async def test_routing_errors_are_json(api: httpx.AsyncClient, method: str, path: str, status: int) -> None:
    response = await api.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status_code": status, "detail": wording.http_status(status)}


async def test_health_and_liveness_name_the_release(api: httpx.AsyncClient) -> None:
    for path in ("/api/health", "/api/live"):
        response = await api.get(path)
        assert response.status_code == 200
        # The contract's {"status": "ok"}, plus the release (ANB_RELEASE; "dev" when unset).
        assert response.json() == {"status": "ok", "release": "dev"}


async def test_openapi_schema_describes_the_contract(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    expected = {
        "/api/auth/signup": "post", "/api/auth/login": "post", "/api/videos/upload": "post",
        "/api/videos": "get", "/api/videos/{video_id}": "get", "/api/public/videos": "get",
        "/api/public/videos/{video_id}/vote": "post", "/api/public/rankings": "get", "/api/health": "get",
        "/api/videos/{video_id}/publish": "post", "/api/live": "get",
    }  # fmt: skip
    for path, method in expected.items():
        assert method in schema["paths"][path], path
    assert "delete" in schema["paths"]["/api/videos/{video_id}"]
    assert "put" in schema["paths"]["/api/videos/{video_id}/publish"]
    signup = schema["paths"]["/api/auth/signup"]["post"]
    assert signup["requestBody"]["content"]["application/json"]["schema"]["examples"]
    assert "examples" in signup["responses"]["201"]["content"]["application/json"]
    assert "BearerAuth" in schema["components"]["securitySchemes"]
    upload = schema["paths"]["/api/videos/upload"]["post"]
    assert "multipart/form-data" in json.dumps(upload)


async def test_interactive_docs(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


async def test_cors_is_closed_by_default(api: httpx.AsyncClient) -> None:
    preflight = await api.options(
        "/api/public/rankings",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = await api.get("/api/public/rankings", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_opens_to_configured_origins(service_env: dict[str, str], tmp_path: Path) -> None:
    settings = GatewaySettings(
        http=HttpSettings(cors_origins=["https://app.anb.example"]),
        security={"dev_mode": True, "devdata_dir": tmp_path},  # type: ignore[arg-type]
    )
    async with AsyncTestClient(build(settings)) as client:
        allowed = await client.options(
            "/api/public/rankings",
            headers={"Origin": "https://app.anb.example", "Access-Control-Request-Method": "GET"},
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.anb.example"
        other = await client.options(
            "/api/public/rankings",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"


# A gateway whose database and ingest are gone, with a tiny login/signup budget.
@pytest.fixture(scope="module")
def degraded(service_env: dict[str, str], session_tmp: Path) -> Iterator[Gateway]:
    env = {
        **service_env,
        "ANB_DB_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/anb",
        "ANB_DB_POOL_TIMEOUT_S": "2",
        "ANB_INGEST_URL": f"http://127.0.0.1:{free_port()}",
        "ANB_AUTH_RATE_LIMIT_PER_MINUTE": "3",
        "ANB_RELEASE": "r-degraded",
    }
    started = start_gateway(env, session_tmp / "gateway-degraded.log", healthy=False)
    yield started
    stop_gateway(started)


@pytest.fixture(scope="module")
async def degraded_api(degraded: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=degraded.url, timeout=30) as client:
        yield client


async def test_health_is_503_without_a_database_while_liveness_stays_200(
    degraded_api: httpx.AsyncClient,
) -> None:
    response = await degraded_api.get("/api/health")
    assert response.status_code == 503
    assert response.json()["status_code"] == 503
    assert response.json()["release"] == "r-degraded"
    # The load balancer's check: the process answers, the database is not asked.
    live = await degraded_api.get("/api/live")
    assert live.status_code == 200
    assert live.json() == {"status": "ok", "release": "r-degraded"}


async def test_a_database_outage_is_503_with_retry_after_and_logged_with_its_request_id(
    degraded_api: httpx.AsyncClient, degraded: Gateway, owner: Player
) -> None:
    # The token is valid (same key); listing needs the database, which is gone.
    response = await degraded_api.get("/api/videos", headers={**owner.auth, "X-Request-ID": "trace-503-xyz"})
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert set(response.json()) == {"status_code", "detail"}
    assert "Traceback" not in response.text
    logged = [json.loads(line) for line in degraded.log.read_text().splitlines() if line.startswith("{")]
    assert any(entry.get("request_id") == "trace-503-xyz" for entry in logged)


def test_an_unexpected_error_is_a_500_that_names_only_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @get("/api/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("secret internals")

    app = EdgeMiddleware(
        Litestar(route_handlers=[boom], exception_handlers=errors.HANDLERS, logging_config=None)
    )
    with TestClient(app) as client:
        response = client.get("/api/boom", headers={"X-Request-ID": "trace-500-xyz"})
    assert response.status_code == 500
    assert response.json() == {
        "status_code": 500,
        "detail": "Error interno del servidor (referencia trace-500-xyz).",
    }
    assert "secret internals" not in response.text
    assert any(record.levelname == "ERROR" and record.exc_info for record in caplog.records)


async def test_upload_with_ingest_down_is_503(degraded_api: httpx.AsyncClient, owner: Player) -> None:
    response = await degraded_api.post(
        "/api/videos/upload",
        content=b"--b\r\n--b--\r\n",
        headers={**owner.auth, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 503
    assert "no está disponible" in response.json()["detail"]


async def test_login_and_signup_are_rate_limited_per_address(degraded_api: httpx.AsyncClient) -> None:
    statuses = [(await degraded_api.post("/api/auth/login", json={})).status_code for _ in range(3)]
    assert 429 not in statuses
    limited = await degraded_api.post("/api/auth/signup", json={})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["status_code"] == 429
    # Reading is not throttled.
    assert (await degraded_api.get("/api/public/rankings")).status_code != 429


def test_outside_dev_mode_the_gateway_refuses_to_start_without_keys(service_env: dict[str, str]) -> None:
    env = {key: value for key, value in service_env.items() if key != "ANB_JWT_SECRET"}
    env["ANB_DEV_MODE"] = "false"
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "--host", "127.0.0.1", "--port", str(free_port()),
        "anb_gateway.app:create_app",
    ]  # fmt: skip
    result = subprocess.run(argv, env=env, capture_output=True, timeout=60, check=False)
    assert result.returncode != 0
    assert b"ANB_JWT_SECRET is required" in result.stdout + result.stderr


def test_every_response_is_counted_by_status_class_and_timed_by_route() -> None:
    @get("/api/ok", sync_to_thread=False)
    def ok() -> dict[str, str]:
        return {"status": "ok"}

    metrics = Metrics()
    app = EdgeMiddleware(
        Litestar(route_handlers=[ok], exception_handlers=errors.HANDLERS, logging_config=None), metrics
    )
    with TestClient(app) as client:
        assert client.get("/api/ok").status_code == 200
        assert client.get("/api/nowhere").status_code == 404  # answered before routing, counted too
        assert client.post("/api/videos/upload").status_code == 404
    counted = {
        (datum["MetricName"], tuple((d["Name"], d["Value"]) for d in datum["Dimensions"])): datum
        for datum in metrics.take()
    }
    assert sum(counted[("Requests", (("StatusClass", "2xx"),))]["Counts"]) == 1
    assert sum(counted[("Requests", (("StatusClass", "4xx"),))]["Counts"]) == 2
    assert sum(counted[("RequestLatency", (("Route", "api"),))]["Counts"]) == 2
    assert sum(counted[("RequestLatency", (("Route", "upload"),))]["Counts"]) == 1
    assert sum(counted[("RequestLatency", ())]["Counts"]) == 3
    assert counted[("RequestLatency", ())]["Unit"] == "Milliseconds"
