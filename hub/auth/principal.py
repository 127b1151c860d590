"""Who is calling, once the token and the directory agree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.directory.model import OrgUnit, Person, Role


@dataclass(frozen=True)
class Principal:
    person: Person
    org_unit: OrgUnit
    # The token's roles that the directory also grants: never more than either says.
    roles: frozenset[Role]
    jti: str
    expires_at: int
    scope: str | None = None
    kind: str = "access"
    # "certificate": this session began with a client certificate (None: with a token)
    amr: str | None = None

    @property
    def signed_in_with(self) -> str:
        """How the person signed in: certificate, session (a browser's, from a token) or token."""
        return self.amr or ("session" if self.kind == "session" else "token")

    @property
    def id(self) -> str:
        """The person id."""
        return self.person.id

    def has(self, *roles: Role) -> bool:
        """Whether the principal holds any of these roles."""
        return any(role in self.roles for role in roles)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of /api/v1/me."""
        return {
            "person": self.person.to_dict(),
            "org_unit": self.org_unit.to_dict(),
            "roles": sorted(role.value for role in self.roles),
            "scope": self.scope,
            "expires_at": self.expires_at,
            "signed_in_with": self.signed_in_with,
        }
