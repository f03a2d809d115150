"""Request dependencies: the database, the caller, and the one way routes call services."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPBearer
from sqlalchemy.engine import Engine

from arbibase_chat import aio
from arbibase_chat.api.errors import ApiError, error_body, from_domain, unauthorized
from arbibase_chat.config import ACCESS_TOKEN_COOKIE, get_settings
from arbibase_chat.services import identity
from arbibase_chat.services.errors import AuthenticationFailed, DomainError

R = TypeVar("R")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared for the OpenAPI schema (and the docs' "Authorize" button); the checks are below.
_bearer_scheme = HTTPBearer(auto_error=False, description="`Authorization: Bearer <JWT>`")
_cookie_scheme = APIKeyCookie(
    name=ACCESS_TOKEN_COOKIE,
    auto_error=False,
    description="The signed-in browser's cookie (same-origin requests only).",
)


def get_db(request: Request) -> Engine | None:
    """The engine the app was created with (tests bind one); None: the configured database."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    return engine


Db = Annotated[Engine | None, Depends(get_db)]


def same_origin(url: str, request: Request) -> bool:
    """True when `url` (an Origin or Referer) names the host this request was sent to."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = request.headers.get("host", "").lower()
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host


def _check_cookie_origin(request: Request) -> None:
    """A cookie is only accepted from our own pages (CSRF and cross-origin reads).

    Unsafe methods need a same-origin Origin (or, without one, Referer); any request that
    states another origin, or that the browser marks as cross-site, is refused.
    """
    refused = ApiError(
        403,
        error_body(
            "cross-site request refused: send the token in an Authorization header",
            "csrf",
        ),
    )
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise refused
    origin = request.headers.get("origin")
    if origin is not None:
        if not same_origin(origin, request):
            raise refused
        return
    if request.method in SAFE_METHODS:
        return
    referer = request.headers.get("referer")
    if referer is None or not same_origin(referer, request):
        raise refused


async def current_user(
    request: Request,
    _bearer: Annotated[Any, Depends(_bearer_scheme)] = None,
    _cookie: Annotated[Any, Depends(_cookie_scheme)] = None,
) -> uuid.UUID:
    """The caller's user id from `Authorization: Bearer <jwt>`, else from the cookie.

    The token is the app's own (local mode) or Supabase Auth's (SUPABASE_URL set).
    """
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized()
        from_cookie = False
    else:
        token = request.cookies.get(ACCESS_TOKEN_COOKIE, "")
        if not token:
            raise unauthorized()
        from_cookie = True
    try:
        # Off the event loop: the user's row is read (a deleted account's token stops working),
        # and in Supabase mode the JWKS may be fetched and the row written on first sight.
        user_id = await aio.call(identity.authenticate_token, token=token, db=get_db(request))
    except AuthenticationFailed:
        raise unauthorized() from None
    except DomainError as exc:
        raise from_domain(exc) from None
    if from_cookie:
        _check_cookie_origin(request)
    return user_id


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]


def client_address(request: Request) -> str:
    """The caller's IP address, for the sign-in / sign-up limits.

    The TCP peer, unless TRUSTED_PROXY_HOPS says that many reverse proxies each append the
    address they saw to X-Forwarded-For: then the address the outermost trusted proxy saw
    (the N-th from the right), as Reflex does for the socket. Without trusted proxies the
    header is ignored: a client could write any address in it and dodge its limit.
    """
    peer = request.client.host if request.client else ""
    hops = get_settings().trusted_proxy_hops
    if hops:
        forwarded = [
            part.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for part in header.split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return peer


ClientAddress = Annotated[str, Depends(client_address)]


async def run(
    service: Callable[..., R],
    /,
    *,
    fields: Mapping[str, str] | None = None,
    gate: aio.Gate | None = None,
    hashes_passwords: bool = False,
    **kwargs: Any,
) -> R:
    """Call a service off the event loop (through `gate` if given, e.g. `aio.sends`; on the
    worker's password threads when it `hashes_passwords`: `aio.call_password`); its domain
    errors become HTTP errors."""
    try:
        if gate is not None:
            return await gate.call(service, **kwargs)
        if hashes_passwords:
            return await aio.call_password(service, **kwargs)
        return await aio.call(service, **kwargs)
    except DomainError as exc:
        raise from_domain(exc, fields) from None
