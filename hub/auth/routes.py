"""HTTP endpoints of authorization: who am I, the browser session cookie, token revocation."""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import Field

from hub import keys
from hub.api import ApiModel, ApiRoutes, json_response, read_body
from hub.auth import policy, responses
from hub.auth.http import principal_of
from hub.auth.principal import Principal
from hub.errors import BadRequest, Unauthorized

log = logging.getLogger(__name__)

routes = ApiRoutes("auth")


class SessionRequest(ApiModel):
    token: str = Field(min_length=1, max_length=8192)


class RevokeRequest(ApiModel):
    jti: str = Field(min_length=1, max_length=64)


def set_session_cookie(request: web.Request, response: web.StreamResponse, principal: Principal) -> None:
    """Give the browser an HttpOnly, SameSite=Strict session cookie for this principal; 403 for someone whose
    role signs in with a certificate only (server.certificate_roles) and came another way."""
    roles = request.app[keys.SETTINGS].server.certificate_roles
    policy.require(not policy.requires_certificate(principal, roles), "certificate_required",
                   "your role signs in with your digital certificate: use /signin/certificate")
    token, _, _ = request.app[keys.AUTH].issue_session(principal)
    _put_cookie(request, response, token)


def _put_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    settings = request.app[keys.SETTINGS]
    response.set_cookie(
        settings.server.cookie_name,
        token,
        max_age=settings.jwt.session_ttl,
        httponly=True,
        samesite="Strict",
        secure=settings.public_url.startswith("https://"),
        path="/",
    )


@routes.get("/api/v1/me", summary="The caller: person, org unit and effective roles", response=responses.Principal)
async def me(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    return json_response(principal.to_dict())


@routes.post(
    "/api/v1/auth/session",
    summary="Exchange a bearer token (header or body) for an HttpOnly session cookie",
    body=SessionRequest,
    body_required=False,
    auth=False,
    response=responses.Principal,
)
async def create_session(request: web.Request) -> web.Response:
    auth = request.app[keys.AUTH]
    # A body, when sent, must be well-formed even if the header carries the token: bad input is never ignored.
    body = await read_body(request, SessionRequest) if request.body_exists else None
    if request.headers.get("Authorization") or body is None:
        principal = await principal_of(request)
    else:
        principal = await auth.authenticate(body.token, peer=request.remote or "-")
    if principal.kind == "session":
        raise BadRequest("session_token", "exchange an access token, not a session cookie")
    response = json_response(principal.to_dict())
    set_session_cookie(request, response, principal)
    return response


@routes.post(
    "/api/v1/auth/session/renew",
    summary="Renew the browser session before it expires: a fresh cookie, and a renewal token for open sockets",
    response=responses.SessionRenewed,
)
async def renew_session(request: web.Request) -> web.Response:
    # The directory is asked again here: a deactivated person, or a revoked session, gets 401 and no new cookie.
    principal = await principal_of(request)
    if principal.kind != "session":
        raise Unauthorized("no_session", "this request carries no session cookie")
    token, renewal, claims = request.app[keys.AUTH].issue_session(principal)
    response = json_response({**principal.to_dict(), "expires_at": claims.exp, "renewal_token": renewal})
    _put_cookie(request, response, token)
    log.info("session of %s renewed until %d", principal.id, claims.exp)
    return response


@routes.delete("/api/v1/auth/session", summary="Sign out: the session cookie is revoked and cleared",
               response=responses.SessionEnded)
async def end_session(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    if principal.kind != "session":
        raise Unauthorized("no_session", "this request carries no session cookie")
    await request.app[keys.AUTH].revoke(principal.jti, expires_at=principal.expires_at, by=principal.id)
    response = json_response({"ended": True})
    response.del_cookie(request.app[keys.SETTINGS].server.cookie_name, path="/")
    return response


@routes.post("/api/v1/admin/tokens/revoke", summary="Revoke a token id on every node (admins)", body=RevokeRequest,
              response=responses.TokenRevoked)
async def revoke_token(request: web.Request) -> web.Response:
    principal = await principal_of(request)
    body = await read_body(request, RevokeRequest)
    policy.require(policy.can_administer(principal), "admin_required", "only admins revoke tokens")
    fresh = await request.app[keys.AUTH].revoke(body.jti, by=principal.id)
    return json_response({"jti": body.jti, "revoked": True, "already": not fresh})
