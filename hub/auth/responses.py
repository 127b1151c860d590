"""The JSON bodies the auth endpoints answer with, as the OpenAPI document gives them."""

from __future__ import annotations

from pydantic import Field

from hub.api import ApiModel
from hub.directory.model import Role
from hub.directory.responses import OrgUnit, Person


class Principal(ApiModel):
    """The caller, as the token and the directory agree."""

    person: Person
    org_unit: OrgUnit
    roles: list[Role] = Field(description="the effective roles: those both the token and the directory grant")
    scope: str | None = Field(description="the token's scope, if it has one")
    expires_at: int = Field(description="when the token or session expires, in seconds since 1970")
    signed_in_with: str = Field(
        description="`certificate`, `session` (a browser's) or `token`; a token issued elsewhere may name another "
                    "method (its `amr` claim)")


class SessionRenewed(Principal):
    expires_at: int = Field(description="when the renewed session expires, in seconds since 1970")
    renewal_token: str = Field(description="a token that renews the connections the browser has open (sockets)")


class SessionEnded(ApiModel):
    ended: bool


class TokenRevoked(ApiModel):
    jti: str = Field(description="the token id revoked")
    revoked: bool
    already: bool = Field(description="true when it was revoked before")
