"""The hub's own origins: a browser may open a WebSocket or send an unsafe request (POST, PUT, PATCH, DELETE)
only from one of them.

Cookies make a browser authenticate requests that another site triggers; SameSite=Lax does not stop a sibling
subdomain (same site, other origin) nor older browsers. So an unsafe request whose `Origin` (or, without one,
`Referer`) names another origin is refused with 403 `origin_refused`, whatever its credentials. Trusted: the
origin of `server.public_url`, the `server.allowed_origins` (e.g. the city portal that posts /auth/handoff),
and the origin the request was addressed to (its Host). A request with neither header comes from no browser
page (a CLI, a script with a bearer token) and is let through to authentication as usual.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from hub import keys
from hub.errors import Forbidden
from hub.middleware import Handler

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_trusted(request: web.Request, origin: str) -> bool:
    """Whether an Origin (or a Referer's origin) is the hub's own."""
    server = request.app[keys.SETTINGS].server
    trusted = {origin_of(request.app[keys.SETTINGS].public_url), *(origin_of(o) for o in server.allowed_origins)}
    parts = urlsplit(origin)
    return origin.rstrip("/") in trusted or bool(parts.scheme in ("http", "https") and parts.netloc
                                                   and parts.netloc == request.host)


def check_origin(request: web.Request) -> None:
    """A WebSocket from a browser must come from the hub's own origin; clients without an Origin header
    authenticate by token."""
    origin = request.headers.get("Origin")
    if origin is not None and not is_trusted(request, origin):
        raise Forbidden("origin_refused", f"WebSocket connections from {origin} are not accepted")


@web.middleware
async def origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse unsafe requests sent from another origin (CSRF, login CSRF)."""
    if request.method in UNSAFE_METHODS:
        origin = request.headers.get("Origin")
        if origin is None and "Referer" in request.headers:
            origin = origin_of(request.headers["Referer"])
        if origin is not None and not is_trusted(request, origin):
            raise Forbidden("origin_refused", f"requests from {origin} are not accepted here")
    return await handler(request)
