"""Who is calling an HTTP endpoint: a bearer token or the session cookie, never a token in the URL."""

from __future__ import annotations

import ipaddress
import logging

from aiohttp import web

from hub import keys
from hub.auth.certificates import from_header
from hub.auth.principal import Principal
from hub.errors import Unauthorized

log = logging.getLogger(__name__)

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


def presented_certificate(request: web.Request) -> bytes | None:
    """The client certificate of a request (DER): from the hub's own TLS, or from the header nginx sets, read only
    when the request comes from a trusted proxy (anyone else could write that header)."""
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport is not None else None
    if ssl_object is not None:
        der = ssl_object.getpeercert(binary_form=True)
        return bytes(der) if der else None
    server = request.app[keys.SETTINGS].server
    header = request.headers.get(server.client_cert_header, "")
    if not header:
        return None
    remote = request.remote or ""
    try:
        trusted = any(ipaddress.ip_address(remote) in ipaddress.ip_network(net, strict=False)
                      for net in server.trusted_proxies)
    except ValueError:
        trusted = False
    if not trusted:
        log.warning("certificate header from %s ignored: not a trusted proxy (server.trusted_proxies)", remote)
        return None
    return from_header(header)
