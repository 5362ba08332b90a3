"""Handlers receive the runtime's parts by name, and Litestar resolves them one after the other."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar, get
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from anb_common.metrics import Metrics
from anb_gateway.app import build
from anb_gateway.deps import ListingsDep, StorageDep, TokensDep, providers, resolve_in_turn
from anb_gateway.runtime import Runtime
from anb_gateway.settings import GatewaySettings


@pytest.fixture
def settings(tmp_path: Path) -> GatewaySettings:
    return GatewaySettings(security={"dev_mode": True, "devdata_dir": tmp_path})  # type: ignore[arg-type]


def test_each_name_is_the_runtimes_part(settings: GatewaySettings) -> None:
    runtime = Runtime(settings, Metrics())
    provided = {name: provide.dependency() for name, provide in providers(runtime).items() if name != "pool"}
    assert provided == {
        "storage": runtime.storage,
        "listings": runtime.listings,
        "ingest": runtime.ingest,
        "tokens": runtime.tokens,
        "passwords": runtime.passwords,
        "login_attempts": runtime.login_attempts,
        "events": runtime.events,
        "readiness": runtime.readiness,
        "tus": runtime.tus,
        "media_links": runtime.media_links,
        "media_files": runtime.media_files,
        "posters": runtime.posters,
    }
    with pytest.raises(AssertionError, match="not awaited"):
        providers(runtime)["pool"].dependency()  # only once the app has started


def test_no_handler_receives_the_runtime(settings: GatewaySettings) -> None:
    app = build(settings)
    assert "runtime" not in app.dependencies
    for route in app.routes:
        for handler in route.route_handlers:
            assert "runtime" not in handler.parsed_fn_signature.parameters, handler


def _batch_sizes(app: Litestar) -> list[int]:
    return [
        len(batch)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for _, kwargs_model in route.route_handler_map.values()
        for batch in kwargs_model.dependency_batches
    ]


def test_the_gateway_resolves_every_dependency_on_its_own(settings: GatewaySettings) -> None:
    app = build(settings)
    sizes = _batch_sizes(app)
    assert len(sizes) > len(app.routes)  # some routes take several dependencies
    assert set(sizes) == {1}


def test_resolving_in_turn_keeps_what_handlers_receive(settings: GatewaySettings) -> None:
    runtime = Runtime(settings, Metrics())

    @get("/parts", sync_to_thread=False)
    def parts(tokens: TokensDep, listings: ListingsDep, storage: StorageDep) -> list[bool]:
        return [tokens is runtime.tokens, listings is runtime.listings, storage is runtime.storage]

    app = Litestar([parts], dependencies=providers(runtime))
    assert _batch_sizes(app) == [3]
    resolve_in_turn(app)
    assert _batch_sizes(app) == [1, 1, 1]
    with TestClient(app) as client:
        assert client.get("/parts").json() == [True, True, True]
