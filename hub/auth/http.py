"""Who is calling an HTTP endpoint: a bearer token or the session cookie, never a token in the URL."""

from __future__ import annotations

from aiohttp import web

from hub import keys
from hub.auth.principal import Principal
from hub.errors import Unauthorized

_PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("principal")


def token_of(request: web.Request) -> str | None:
    """The bearer token or session cookie of a request, if any."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("bad_authorization_header", "use 'Authorization: Bearer <token>'")
        return token.strip()
    cookie_name = request.app[keys.SETTINGS].server.cookie_name
    return request.cookies.get(cookie_name) or None


async def optional_principal(request: web.Request) -> Principal | None:
    """The caller, or None when the request carries no credentials; bad credentials are refused."""
    if _PRINCIPAL in request:
        return request[_PRINCIPAL]
    token = token_of(request)
    principal = None
    if token is not None:
        peer = request.remote or "-"
        principal = await request.app[keys.AUTH].authenticate(token, peer=peer)
    request[_PRINCIPAL] = principal
    return principal


async def principal_of(request: web.Request) -> Principal:
    """The caller; 401 when there are no credentials."""
    principal = await optional_principal(request)
    if principal is None:
        raise Unauthorized("authentication_required", "sign in or send a bearer token")
    return principal
