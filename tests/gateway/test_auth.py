"""Signup and login: one test per contract line, plus what the contract implies (hash at rest, no-store)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.db.models import User
from gateway.conftest import PASSWORD, Player


def signup_body(**overrides: str) -> dict[str, str]:
    body = {
        "first_name": "Marta",
        "last_name": "Díaz",
        "email": f"marta.{uuid.uuid4().hex[:8]}@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "city": "Bogotá",
        "country": "Colombia",
    }
    body.update(overrides)
    return body


async def test_signup_creates_the_user(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/auth/signup", json=signup_body())
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Usuario creado exitosamente."
    assert uuid.UUID(body["user_id"])
    assert set(body) == {"message", "user_id"}
    assert response.headers["cache-control"] == "no-store"


async def test_password_is_stored_only_as_an_argon2id_hash(
    api: httpx.AsyncClient, owner: Player, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        user = (await session.execute(select(User).where(User.id == owner.user_id))).scalar_one()
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in user.password_hash


async def test_duplicate_email_is_refused_case_insensitively(api: httpx.AsyncClient, owner: Player) -> None:
    response = await api.post("/api/auth/signup", json=signup_body(email=owner.email.upper()))
    assert response.status_code == 400
    assert response.json() == {"status_code": 400, "detail": "email: ya existe una cuenta con este correo."}


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"password2": "otra-clave-distinta"}, "password2", "no coinciden"),
        ({"email": "no-es-un-correo"}, "email", "correo válido"),
        ({"password1": "corta", "password2": "corta"}, "password1", "al menos 8 caracteres"),
        ({"first_name": ""}, "first_name", "no puede estar vacío"),
        ({"city": "   "}, "city", "no puede estar vacío"),
        ({"last_name": "x" * 101}, "last_name", "como máximo 100 caracteres"),
        ({"country": 7}, "country", "debe ser texto"),
    ],
)
async def test_invalid_signup_names_field_and_rule(
    api: httpx.AsyncClient, overrides: dict[str, object], field: str, rule: str
) -> None:
    response = await api.post("/api/auth/signup", json=signup_body(**overrides))  # type: ignore[arg-type]
    assert response.status_code == 400
    body = response.json()
    assert body["status_code"] == 400
    assert body["detail"].startswith(f"{field}:")
    assert rule in body["detail"]


async def test_missing_field_is_named(api: httpx.AsyncClient) -> None:
    body = signup_body()
    del body["city"]
    response = await api.post("/api/auth/signup", json=body)
    assert response.status_code == 400
    assert response.json()["detail"] == "city: falta este campo."


async def test_unknown_json_shape_is_refused(api: httpx.AsyncClient) -> None:
    unknown_field = await api.post("/api/auth/signup", json={**signup_body(), "is_admin": True})
    assert unknown_field.status_code == 400
    assert unknown_field.json()["detail"] == "is_admin: este campo no existe en la API."
    not_an_object = await api.post("/api/auth/signup", json=["a", "b"])
    assert not_an_object.status_code == 400
    not_json = await api.post(
        "/api/auth/signup", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 400
    assert not_json.json() == {"status_code": 400, "detail": "body: no es JSON válido."}


async def test_login_returns_a_bearer_token(api: httpx.AsyncClient, owner: Player) -> None:
    response = await api.post("/api/auth/login", json={"email": owner.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert response.headers["cache-control"] == "no-store"


async def test_login_email_is_case_insensitive(api: httpx.AsyncClient, owner: Player) -> None:
    response = await api.post("/api/auth/login", json={"email": owner.email.upper(), "password": PASSWORD})
    assert response.status_code == 200


async def test_unknown_email_and_wrong_password_get_the_same_401(
    api: httpx.AsyncClient, owner: Player
) -> None:
    wrong = await api.post("/api/auth/login", json={"email": owner.email, "password": "no-es-la-clave"})
    unknown = await api.post("/api/auth/login", json={"email": "nadie@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"status_code": 401, "detail": "Credenciales inválidas."}
