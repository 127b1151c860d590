"""Authentication: the token says who the caller claims to be, the directory has the last word."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from hub.auth import store
from hub.auth.certificates import ClientCertificates
from hub.auth.principal import Principal
from hub.auth.tokens import Claims, TokenCodec
from hub.bus.base import Bus
from hub.clock import Clock
from hub.directory.model import Person, Role
from hub.directory.service import DirectoryService
from hub.errors import Forbidden, HubError, NotFound, Unauthorized
from hub.storage.db import Database

log = logging.getLogger(__name__)

# Published when a token is revoked; every open connection holding it is closed.
REVOKED_CHANNEL = "auth.revoked"
# The refusals of `check` that mean the person lost access (not a bad or expired token): an open connection
# refused with one of these is closed as revoked.
WITHDRAWN = frozenset({"token_revoked", "unknown_person", "person_inactive", "org_mismatch"})
# A token of this kind only renews an open connection of its person (see `renew`); it opens nothing.
RENEWAL = "renewal"
# The amr of a session that began with a client certificate.
CERTIFICATE = "certificate"


class AuthService:
    """Turns a bearer token into a Principal, or refuses it with a distinct code and a log line."""

    def __init__(
        self, codec: TokenCodec, directory: DirectoryService, db: Database, bus: Bus, clock: Clock,
        on_refusal: Callable[[str], None] | None = None, certificates: ClientCertificates | None = None,
    ) -> None:
        self.codec = codec
        self.certificates = certificates
        self.directory = directory
        self.db = db
        self.bus = bus
        self.clock = clock
        self._on_refusal = on_refusal

    async def authenticate(self, token: str, *, peer: str = "-") -> Principal:
        """The principal a token stands for, checked against revocations and the directory."""
        try:
            claims = self.codec.decode(token)
            if claims.kind == RENEWAL:
                raise Unauthorized("token_kind_refused", "a renewal token only renews an open connection")
            return await self.check(claims)
        except Unauthorized as refusal:
            log.warning("auth refused (%s) from %s: %s", refusal.code, peer, refusal.message)
            if self._on_refusal is not None:
                self._on_refusal(refusal.code)
            raise

    async def check(self, claims: Claims) -> Principal:
        """Apply the directory's last word to verified claims (also used to re-check open connections)."""
        async with self.db.connect() as conn:
            if await store.is_revoked(conn, claims.jti):
                raise Unauthorized("token_revoked", "the token has been revoked")
        person = await self.directory.find_person(claims.sub)
        if person is None:
            raise Unauthorized("unknown_person", f"no person {claims.sub!r} in the directory")
        if not person.active:
            raise Unauthorized("person_inactive", f"{claims.sub} is not active in the directory")
        if person.org_unit_id != claims.org:
            raise Unauthorized("org_mismatch", f"{claims.sub} does not belong to {claims.org!r}")
        claimed = {r for r in claims.roles}
        roles = frozenset(role for role in person.roles if role.value in claimed)
        dropped = claimed - {role.value for role in roles}
        if dropped:
            log.warning("auth: roles %s claimed by %s are not granted by the directory: dropped",
                        sorted(dropped), claims.sub)
        unit = await self.directory.unit(person.org_unit_id)
        return Principal(
            person=person, org_unit=unit, roles=roles, jti=claims.jti, expires_at=claims.exp,
            scope=claims.scope, kind=claims.kind, amr=claims.amr,
        )

    async def sign_in_with_certificate(self, der: bytes | None, *, peer: str = "-") -> Principal:
        """The person a client certificate is bound to (checked by the city's CA, in force, not revoked; bound in
        the directory to an active person): a principal whose session records that it came from a certificate."""
        try:
            if self.certificates is None or not self.certificates.enabled:
                raise Unauthorized("certificate_signin_off", "certificate sign-in is not set up on this hub")
            sha = self.certificates.check(der, self.clock.now())
            person = await self.directory.person_by_certificate(sha)
            if person is None:
                raise Forbidden("certificate_not_bound", "this certificate is not bound to anyone in the directory")
            if not person.active:
                raise Forbidden("person_inactive", f"{person.id}, whose certificate this is, is not active")
        except HubError as refusal:
            log.warning("certificate sign-in refused (%s) from %s: %s", refusal.code, peer, refusal.message)
            if self._on_refusal is not None:
                self._on_refusal(refusal.code)
            raise
        log.info("certificate sign-in: %s from %s", person.id, peer)
        unit = await self.directory.unit(person.org_unit_id)
        return Principal(person=person, org_unit=unit, roles=person.roles, jti="", expires_at=0, kind="access",
                         amr=CERTIFICATE)

    async def renew(self, token: str, person_id: str, *, peer: str = "-") -> Principal:
        """The principal of a fresh token for a connection open as `person_id`, which then lives as long as it.

        Any kind of token of the same person will do (a browser sends the renewal token of
        POST /api/v1/auth/session/renew, other clients a new access token); the directory decides as always.
        """
        try:
            claims = self.codec.decode(token)
            if claims.sub != person_id:
                raise Unauthorized("renewal_other_person", "the token belongs to someone else")
            principal = await self.check(claims)
        except Unauthorized as refusal:
            log.warning("auth renewal refused (%s) for %s from %s: %s", refusal.code, person_id, peer,
                        refusal.message)
            if self._on_refusal is not None:
                self._on_refusal(refusal.code)
            raise
        log.info("auth: %s renewed a connection from %s until %d", person_id, peer, principal.expires_at)
        return principal

    def valid_until(self, principal: Principal) -> float:
        """When a connection of this principal is closed unless renewed: the token's expiry plus the leeway."""
        return float(principal.expires_at + self.codec.settings.leeway)

    def issue_session(self, principal: Principal) -> tuple[str, str, Claims]:
        """A browser session for a principal: the cookie's token, and a renewal token with the same id and
        expiry that the page may see (it renews the page's open sockets and nothing else)."""
        ttl = self.codec.settings.session_ttl
        token, claims = self.issue_for(
            principal.person, ttl=ttl, scope=principal.scope, kind="session", roles=principal.roles,
            amr=principal.amr,
        )
        renewal, _ = self.codec.issue(
            sub=claims.sub, org=claims.org, roles=claims.roles, scope=claims.scope, kind=RENEWAL, jti=claims.jti,
            exp=claims.exp, amr=claims.amr,
        )
        return token, renewal, claims

    async def recheck(self, principal: Principal) -> Principal:
        """The same principal re-checked now (a long-lived connection after a directory change)."""
        if self.valid_until(principal) <= self.clock.timestamp():
            raise Unauthorized("token_expired", "the token has expired")
        return await self.check(
            Claims(
                sub=principal.id, org=principal.org_unit.id, roles=tuple(r.value for r in principal.roles),
                exp=principal.expires_at, iat=0, jti=principal.jti, scope=principal.scope, kind=principal.kind,
                amr=principal.amr,
            )
        )

    def issue_for(
        self, person: Person, *, ttl: int | None = None, scope: str | None = None, kind: str = "access",
        roles: frozenset[Role] | None = None, amr: str | None = None,
    ) -> tuple[str, Claims]:
        """A token for a directory person, with their directory roles (or fewer)."""
        granted = person.roles if roles is None else roles & person.roles
        return self.codec.issue(
            sub=person.id, org=person.org_unit_id, roles=[r.value for r in granted], ttl=ttl, scope=scope,
            kind=kind, amr=amr,
        )

    async def issue_for_id(self, person_id: str, *, ttl: int | None = None, scope: str | None = None) -> str:
        """A token for an active directory person by id (the CLI's `token issue`)."""
        person = await self.directory.person(person_id)
        if not person.active:
            raise NotFound("person_inactive", f"{person_id} is not active in the directory")
        token, _ = self.issue_for(person, ttl=ttl, scope=scope)
        return token

    async def revoke(self, jti: str, *, expires_at: int | None = None, by: str | None = None) -> bool:
        """Refuse a token id from now on, on every node; False when it was revoked already."""
        now = self.clock.now()
        # An unknown expiry keeps the revocation for the longest a token can live.
        horizon = expires_at or int(self.clock.timestamp()) + max(
            self.codec.settings.ttl, self.codec.settings.session_ttl
        )
        async with self.db.begin() as conn:
            fresh = await store.revoke(conn, jti, datetime.fromtimestamp(horizon, UTC), now, by)
            await store.forget_expired(conn, now)
            if fresh:
                await store.record_change(conn, store.CHANGE_REVOKED, [jti], now)
        log.info("token %s revoked by %s", jti, by or "cli")
        await self.bus.publish(REVOKED_CHANNEL, {"jti": jti})
        return fresh
