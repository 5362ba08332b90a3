"""Sign up, log in, log out: forms over ``POST /api/auth/signup`` and ``/login``, dispatched in process,
so the API's rules, Spanish refusals and limits (per address, per account) apply unchanged. Logging
in opens the session cookie with the token the API issued."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Template

from anb_gateway.web.parts import go, page, safe_next
from anb_gateway.web.session import end_session, session_cookie
from anb_gateway.web.visitors import WebDep

SIGNUP_FIELDS = ("first_name", "last_name", "email", "password1", "password2", "city", "country")
# What a refused form shows again: never the passwords.
_KEPT = ("first_name", "last_name", "email", "city", "country")


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@get("/signup", name="signup")
async def signup_page(
    request: Request[Any, Any, Any],
    web: WebDep,
    next_path: Annotated[str | None, Parameter(query="next")] = None,
) -> Template:
    return page(
        request, web, "signup.html", form={"country": "Colombia"}, error=None, next=safe_next(next_path, "")
    )


@post("/signup", name="signup_post", status_code=200)
async def signup(request: Request[Any, Any, Any], web: WebDep) -> Response[Any]:
    form = await request.form()
    body = {name: _text(form, name) for name in SIGNUP_FIELDS}
    target = safe_next(_text(form, "next"), "/my-videos")
    created = await web.api.call(request, "POST", "/api/auth/signup", json=body)
    if not created.ok:
        kept = {name: body[name] for name in _KEPT}
        return page(
            request,
            web,
            "signup.html",
            status_code=created.status,
            form=kept,
            error=created.detail,
            next=target,
        )
    login = await web.api.call(
        request, "POST", "/api/auth/login", json={"email": body["email"], "password": body["password1"]}
    )
    if not login.ok:  # the account exists; only the automatic login failed (a limit): log in by hand
        return go(request, web, "/login?next=" + target, "signed_up")
    return _open_session(request, web, login.json(), target, "signed_up")


@get("/login", name="login")
async def login_page(
    request: Request[Any, Any, Any],
    web: WebDep,
    next_path: Annotated[str | None, Parameter(query="next")] = None,
) -> Template:
    return page(request, web, "login.html", email="", error=None, next=safe_next(next_path, ""))


@post("/login", name="login_post", status_code=200)
async def login(request: Request[Any, Any, Any], web: WebDep) -> Response[Any]:
    form = await request.form()
    email = _text(form, "email")
    target = safe_next(_text(form, "next"), "/my-videos")
    answer = await web.api.call(
        request, "POST", "/api/auth/login", json={"email": email, "password": _text(form, "password")}
    )
    if not answer.ok:
        response = page(
            request,
            web,
            "login.html",
            status_code=answer.status,
            email=email,
            error=answer.detail,
            next=target,
        )
        if "retry-after" in answer.headers:
            response.headers["Retry-After"] = answer.headers["retry-after"]
        return response
    return _open_session(request, web, answer.json(), target, "logged_in")


def _open_session(
    request: Request[Any, Any, Any], web: WebDep, issued: dict[str, Any], target: str, notice: str
) -> Response[Any]:
    response = go(request, web, target, notice)
    response.set_cookie(session_cookie(request, str(issued["access_token"]), int(issued["expires_in"])))
    return response


@post("/logout", name="logout", status_code=200)
async def logout(request: Request[Any, Any, Any], web: WebDep) -> Response[Any]:
    response = go(request, web, "/", "logged_out")
    end_session(request, response)
    return response
