"""Access tokens: the claims we issue and the attacks that must all end in 401."""

from __future__ import annotations

import base64
import json
import time
import uuid

import httpx
import jwt
import pytest

from anb_gateway.tokens import InvalidToken, Tokens
from gateway.conftest import Player

SECRET = "s" * 32


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_issued_token_has_the_required_claims() -> None:
    tokens = Tokens(SECRET, 3600)
    user_id = uuid.uuid4()
    token = tokens.issue(user_id)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert header["alg"] == "HS256"
    assert set(claims) == {"sub", "iat", "exp", "jti"}
    assert claims["exp"] - claims["iat"] == 3600
    assert tokens.subject(token) == user_id
    assert tokens.issue(user_id) != token  # jti differs


def test_token_without_a_required_claim_is_refused() -> None:
    now = int(time.time())
    token = jwt.encode({"sub": str(uuid.uuid4()), "iat": now, "exp": now + 60}, SECRET, algorithm="HS256")
    with pytest.raises(InvalidToken):
        Tokens(SECRET, 3600).subject(token)


def _attacks(player: Player, secret: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": str(player.user_id), "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
    head, payload, signature = player.token.split(".")
    forged_payload = _b64({**json.loads(base64.urlsafe_b64decode(payload + "==")), "sub": str(uuid.uuid4())})
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "alg none with signature": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.{signature}",
        "tampered payload": f"{head}.{forged_payload}.{signature}",
        "tampered signature": f"{head}.{payload}.{signature[:-4]}AAAA",
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256"),
        "other key": jwt.encode(claims, "k" * 32, algorithm="HS256"),
        "HS384 with our key": jwt.encode(claims, secret, algorithm="HS384"),
        "not a jwt": "abc.def",
        "sub not a uuid": jwt.encode({**claims, "sub": "admin"}, secret, algorithm="HS256"),
    }


async def test_jwt_attacks_get_401(
    api: httpx.AsyncClient, owner: Player, gateway_env: dict[str, str]
) -> None:
    for name, token in _attacks(owner, gateway_env["ANB_JWT_SECRET"]).items():
        response = await api.get("/api/videos", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json() == {"status_code": 401, "detail": "Token inválido o expirado."}, name
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["", "Bearer", "Basic dXNlcjpwYXNz", "Token abc"])
async def test_malformed_authorization_header_gets_401(api: httpx.AsyncClient, header: str) -> None:
    response = await api.get("/api/videos", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert set(response.json()) == {"status_code", "detail"}


async def test_valid_token_is_accepted(api: httpx.AsyncClient, owner: Player) -> None:
    assert (await api.get("/api/videos", headers=owner.auth)).status_code == 200


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = Tokens(SECRET, 3600)
    token = tokens.issue(uuid.uuid4())
    tokens.subject(token)  # verified and remembered
    later = time.time() + 3601
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(InvalidToken):
        tokens.subject(token)
