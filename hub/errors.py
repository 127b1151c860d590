"""The one error family of CityHub: every refusal is a HubError with a code, a message and a status."""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """A refusal the caller should see: `{"error": {"code", "message"}}` with an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        status: int | None = None,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message or code or self.code)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.message = message or self.code.replace("_", " ")
        self.field = field
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return {"error": body}


class BadRequest(HubError):
    status = 400
    code = "bad_request"


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class NotFound(HubError):
    status = 404
    code = "not_found"


class Conflict(HubError):
    status = 409
    code = "conflict"


class PayloadTooLarge(HubError):
    status = 413
    code = "payload_too_large"


class Unavailable(HubError):
    status = 503
    code = "unavailable"
