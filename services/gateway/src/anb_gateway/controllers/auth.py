"""Signup and login, throttled per client address."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body

from anb_gateway import wording
from anb_gateway.deps import PasswordsDep, PoolDep, TokensDep
from anb_gateway.openapi_docs import error
from anb_gateway.ratelimit import RateLimiter
from anb_gateway.repositories import users
from anb_gateway.schemas.auth import LoginRequest, SignupRequest, SignupResponse, TokenResponse

AUTH_LIMITER = "auth_limiter"
"""The key of the login/signup RateLimiter in the app's state (a guard cannot receive dependencies)."""


async def throttle(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    # Async so that Litestar runs it on the loop: a synchronous guard goes to a worker thread.
    limiter: RateLimiter = connection.app.state[AUTH_LIMITER]
    address = connection.client.host if connection.client else "unknown"
    if (retry_after := limiter.hit(address)) is not None:
        raise TooManyRequestsException(
            detail=wording.too_many_from_address(retry_after),
            headers={"Retry-After": str(retry_after)},
        )


_SIGNUP_EXAMPLE = {
    "first_name": "Ana",
    "last_name": "Gómez",
    "email": "ana@example.com",
    "password1": "balon-2026-pase",
    "password2": "balon-2026-pase",
    "city": "Bogotá",
    "country": "Colombia",
}
_TOO_MANY = error(429, "Demasiados intentos", wording.too_many_from_address(42))


class AuthController(Controller):
    path = "/api/auth"
    tags = ("auth",)
    guards = (throttle,)

    @post(
        "/signup",
        status_code=201,
        summary="Crear una cuenta de jugador",
        responses={
            201: ResponseSpec(
                SignupResponse,
                description="Cuenta creada",
                examples=[
                    Example(
                        value={
                            "message": wording.SIGNED_UP,
                            "user_id": "9b2f1c1e-6a57-4c55-9d0b-1f1c2b3d4e5f",
                        }
                    )
                ],
            ),
            400: error(400, "Datos inválidos", "password1: Expected `str` of length >= 8"),
            429: _TOO_MANY,
        },
    )
    async def signup(
        self,
        data: Annotated[SignupRequest, Body(examples=[Example(summary="Jugadora", value=_SIGNUP_EXAMPLE)])],
        pool: PoolDep,
        passwords: PasswordsDep,
    ) -> SignupResponse:
        if data.password1 != data.password2:
            raise ValidationException(detail=wording.PASSWORDS_DIFFER)
        new_user = users.NewUser(
            first_name=data.first_name.strip(),
            last_name=data.last_name.strip(),
            email=data.email.strip(),
            password_hash=await passwords.hash(data.password1),
            city=data.city.strip(),
            country=data.country.strip(),
        )
        try:
            user_id = await users.create(pool, new_user)
        except users.DuplicateEmail:
            raise ValidationException(detail=wording.EMAIL_TAKEN) from None
        return SignupResponse(message=wording.SIGNED_UP, user_id=user_id)

    @post(
        "/login",
        status_code=200,
        summary="Obtener un token de acceso",
        responses={
            200: ResponseSpec(
                TokenResponse,
                description="Token emitido",
                examples=[
                    Example(
                        value={
                            "access_token": "eyJhbGciOiJIUzI1NiIs...",
                            "token_type": "Bearer",
                            "expires_in": 3600,
                        }
                    )
                ],
            ),
            401: error(401, "Credenciales inválidas", wording.BAD_CREDENTIALS),
            429: _TOO_MANY,
        },
    )
    async def login(
        self,
        data: Annotated[
            LoginRequest,
            Body(examples=[Example(value={"email": "ana@example.com", "password": "balon-2026-pase"})]),
        ],
        pool: PoolDep,
        passwords: PasswordsDep,
        tokens: TokensDep,
    ) -> TokenResponse:
        found = await users.credentials(pool, data.email.strip())
        verdict = await passwords.verify(found[1] if found else None, data.password)
        if found is None or not verdict.valid:
            raise NotAuthorizedException(detail=wording.BAD_CREDENTIALS)
        user_id = found[0]
        if verdict.new_hash is not None:
            await users.replace_hash(pool, user_id, verdict.new_hash)
        return TokenResponse(
            access_token=tokens.issue(user_id),
            token_type="Bearer",  # noqa: S106 - the scheme name, not a secret
            expires_in=tokens.ttl_s,
        )
