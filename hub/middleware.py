"""The middlewares every request passes: request id, errors as JSON (or an HTML page), metrics, security headers."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from hub import keys
from hub.api import check_response, json_response
from hub.errors import HubError
from hub.logs import request_id

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Renders an HTML error page for browser pages: (request, status, code, message) -> response.
ErrorPage = Callable[[web.Request, int, str, str], Awaitable[web.StreamResponse]]
ERROR_PAGE: web.AppKey[ErrorPage] = web.AppKey("error_page")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "too_many_requests",
}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _wants_json(request: web.Request) -> bool:
    path = request.path
    return path.startswith("/api/") or path in ("/healthz", "/readyz", "/metrics") or path.endswith("/ws")


async def _error(
    request: web.Request, status: int, code: str, message: str, extra: HubError | None = None
) -> web.StreamResponse:
    if not _wants_json(request) and ERROR_PAGE in request.app:
        return await request.app[ERROR_PAGE](request, status, code, message)
    body = extra.to_dict() if extra else {"error": {"code": code, "message": message}}
    return json_response(body, status=status)


@web.middleware
async def core_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id, errors in the one JSON shape, metrics, and a log line for every refusal."""
    rid = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex[:16]
    token = request_id.set(rid)
    started = time.perf_counter()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    try:
        try:
            response = await handler(request)
        except HubError as exc:
            log.info("%s %s refused: %s %s (%s)", request.method, request.path, exc.status, exc.code, exc.message)
            response = await _error(request, exc.status, exc.code, exc.message, exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = _HTTP_CODES.get(exc.status, "http_error")
            log.info("%s %s refused: %s %s", request.method, request.path, exc.status, code)
            message = {404: "no such resource", 405: f"{request.method} is not allowed here"}.get(
                exc.status, exc.reason
            )
            response = await _error(request, exc.status, code, message)
            if exc.status == 405 and "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            response = await _error(request, 500, "internal_error", "something went wrong on our side")
        response.headers["X-Request-ID"] = rid
        return response
    finally:
        request_id.reset(token)
        if keys.METRICS in request.app:
            request.app[keys.METRICS].http_seconds.labels(route).observe(time.perf_counter() - started)


@web.middleware
async def contract_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With `server.check_responses`: an API response that breaks its documented contract is logged as an error
    and answered 500 `response_contract` (tests and staging find an undocumented field or status this way)."""
    response = await handler(request)
    endpoint = request.app[keys.ENDPOINTS].get(request.match_info.route)
    problem = check_response(endpoint, response) if endpoint is not None else None
    if problem is None:
        return response
    log.error("%s %s broke its contract: %s", request.method, request.path, problem)
    return json_response({"error": {"code": "response_contract", "message": problem}}, status=500)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A strict Content-Security-Policy (no inline scripts, nothing from outside) and friends."""
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)")
    return response


async def on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Count every response by route and status (also WebSocket upgrades and streamed files)."""
    if keys.METRICS in request.app:
        resource = request.match_info.route.resource
        route = resource.canonical if resource else "unmatched"
        request.app[keys.METRICS].http_requests.labels(request.method, route, str(response.status)).inc()
