"""Signup and login, throttled per client address; failed logins also per account (login_attempts)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body

from anb_gateway import wording
from anb_gateway.deps import LoginAttemptsDep, PasswordsDep, PoolDep, TokensDep
from anb_gateway.openapi_docs import error
from anb_gateway.ratelimit import FixedWindows
from anb_gateway.repositories import users
from anb_gateway.schemas.auth import LoginRequest, SignupRequest, SignupResponse, TokenResponse

AUTH_LIMITER = "auth_limiter"
"""The key of the login/signup FixedWindows in the app's state (a guard cannot receive dependencies)."""


def _address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


async def throttle(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    # Async so that Litestar runs it on the loop: a synchronous guard goes to a worker thread. It runs
    # before the body is read: an address over its limit costs a lookup, whatever it sends.
    limiter: FixedWindows = connection.app.state[AUTH_LIMITER]
    if (retry_after := limiter.hit(_address(connection), time.monotonic())) is not None:
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
            400: error(400, "Datos inválidos", wording.invalid("password1", "Expected `str` of length >= 8")),
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
            429: error(429, "Demasiados intentos", wording.too_many_for_account(600)),
        },
    )
    async def login(
        self,
        data: Annotated[
            LoginRequest,
            Body(examples=[Example(value={"email": "ana@example.com", "password": "balon-2026-pase"})]),
        ],
        request: Request[Any, Any, Any],
        pool: PoolDep,
        passwords: PasswordsDep,
        tokens: TokensDep,
        login_attempts: LoginAttemptsDep,
    ) -> TokenResponse:
        email, address = data.email.strip(), _address(request)
        # Before the lookup and the hash: known and unknown emails are refused alike, and cheaply.
        if (retry_after := login_attempts.begin(email, address)) is not None:
            raise TooManyRequestsException(
                detail=wording.too_many_for_account(retry_after), headers={"Retry-After": str(retry_after)}
            )
        try:
            found = await users.credentials(pool, email)
            verdict = await passwords.verify(found[1] if found else None, data.password)
        except BaseException:
            login_attempts.refund(email, address)  # no verdict (an outage, a cancelled request)
            raise
        if found is None or not verdict.valid:
            raise NotAuthorizedException(detail=wording.BAD_CREDENTIALS)
        login_attempts.refund(email, address)  # a right password is no failure
        user_id = found[0]
        if verdict.new_hash is not None:
            await users.replace_hash(pool, user_id, verdict.new_hash)
        return TokenResponse(
            access_token=tokens.issue(user_id),
            token_type="Bearer",  # noqa: S106 - the scheme name, not a secret
            expires_in=tokens.ttl_s,
        )
