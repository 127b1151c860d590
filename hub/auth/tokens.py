"""JWT issue and verify (pyjwt) with pinned algorithms and kid rotation; every refusal has its own code."""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from hub.clock import Clock
from hub.errors import Unauthorized
from hub.settings import Settings, SettingsError

log = logging.getLogger(__name__)

REQUIRED_CLAIMS = ("sub", "org", "roles", "exp", "iat", "jti")


def _read_key(setting: str, path: str, *, private: bool) -> Any:
    """A PEM key from a file; a SettingsError naming the setting when it cannot be read."""
    try:
        data = Path(path).read_bytes()
        if private:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_pem_public_key(data)
    except (OSError, ValueError, TypeError) as exc:
        raise SettingsError(f"{setting}: cannot use {path}: {exc}") from None


@dataclass(frozen=True)
class Claims:
    sub: str
    org: str
    roles: tuple[str, ...]
    exp: int
    iat: int
    jti: str
    scope: str | None = None
    # "access" for tokens handed to callers, "session" for the browser cookie made from one.
    kind: str = "access"
    # How the person signed in, when it was not with a token ("certificate": a client certificate; RFC 8176's amr).
    amr: str | None = None


class TokenCodec:
    """Signs and verifies CityHub tokens with the keys and algorithm the settings pin."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings.jwt
        self.clock = clock
        self.algorithm = self.settings.algorithm
        self._signing_key: Any = None
        self._verify_keys: dict[str, Any] = {}
        self._load_keys(settings.server.var_dir)

    def _load_keys(self, var_dir: Path) -> None:
        cfg = self.settings
        if self.algorithm == "HS256":
            path = Path(cfg.secret_file) if cfg.secret_file else var_dir / "jwt-secret"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
                log.info("generated a new HS256 secret in %s", path)
            secret = path.read_text().strip()
            if len(secret) < 32:
                raise SettingsError(f"jwt.secret_file: {path} holds fewer than 32 characters")
            self._signing_key = secret
            self._verify_keys[cfg.kid] = secret
            return
        if cfg.private_key_file:
            private = _read_key("jwt.private_key_file", cfg.private_key_file, private=True)
            self._signing_key = private
            self._verify_keys[cfg.kid] = private.public_key()
        for entry in cfg.public_key_files:
            kid, _, key_path = entry.partition("=")
            self._verify_keys[kid.strip()] = _read_key("jwt.public_key_files", key_path.strip(), private=False)

    @property
    def can_sign(self) -> bool:
        """Whether this node holds a signing key (a verify-only node does not)."""
        return self._signing_key is not None

    def issue(
        self, *, sub: str, org: str, roles: list[str] | tuple[str, ...], ttl: int | None = None,
        scope: str | None = None, kind: str = "access", jti: str | None = None, exp: int | None = None,
        amr: str | None = None,
    ) -> tuple[str, Claims]:
        """A signed token and its claims (a new id, and an expiry `ttl` from now, unless given)."""
        if self._signing_key is None:
            raise RuntimeError("jwt.private_key_file is not set: this node cannot issue tokens")
        now = int(self.clock.timestamp())
        claims = Claims(
            sub=sub, org=org, roles=tuple(sorted(roles)), iat=now, exp=exp or now + (ttl or self.settings.ttl),
            jti=jti or uuid.uuid4().hex, scope=scope, kind=kind, amr=amr,
        )
        payload: dict[str, Any] = {
            "iss": self.settings.issuer, "aud": self.settings.audience, "sub": claims.sub, "org": claims.org,
            "roles": list(claims.roles), "iat": claims.iat, "nbf": claims.iat, "exp": claims.exp,
            "jti": claims.jti, "kind": kind,
        }
        if scope:
            payload["scope"] = scope
        if amr:
            payload["amr"] = [amr]
        token = jwt.encode(payload, self._signing_key, algorithm=self.algorithm, headers={"kid": self.settings.kid})
        return token, claims

    def decode(self, token: str) -> Claims:
        """The claims of a valid token; Unauthorized with a distinct code for every way a token can be bad."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            # DecodeError, and also a kid that is not a string: never a 500.
            raise Unauthorized("token_malformed", "the token is not a well-formed JWT") from None
        alg = header.get("alg")
        if not isinstance(alg, str):
            raise Unauthorized("token_malformed", "the token's header has no algorithm")
        if alg.lower() == "none":
            raise Unauthorized("token_unsigned", "unsigned tokens (alg none) are not accepted")
        if alg != self.algorithm:
            raise Unauthorized("token_algorithm_refused", f"tokens signed with {alg!r} are not accepted")
        kid = header.get("kid", self.settings.kid)
        key = self._verify_keys.get(kid)
        if key is None:
            raise Unauthorized("token_unknown_kid", f"no key with id {kid!r}")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.algorithm],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway,
                # Times are checked below against the hub's clock (the one schedulers and tests control).
                options={"require": list(REQUIRED_CLAIMS), "verify_exp": False, "verify_nbf": False,
                         "verify_iat": False},
            )
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"token_missing_{exc.claim}", f"the token has no {exc.claim!r} claim") from None
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token_expired", "the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("token_not_yet_valid", "the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("token_wrong_audience", "the token is meant for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("token_wrong_issuer", "the token comes from an unknown issuer") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("token_bad_signature", "the token's signature does not verify") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized("token_invalid", f"the token is not valid: {exc}") from None
        self._check_times(payload)
        roles = payload["roles"]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthorized("token_invalid", "the roles claim must be a list of strings")
        for claim in ("sub", "org", "jti"):
            if not isinstance(payload[claim], str) or not payload[claim]:
                raise Unauthorized("token_invalid", f"the {claim} claim must be a non-empty string")
        scope, amr = payload.get("scope"), payload.get("amr")
        return Claims(
            sub=payload["sub"], org=payload["org"], roles=tuple(roles), exp=int(payload["exp"]),
            iat=int(payload["iat"]), jti=payload["jti"], scope=scope if isinstance(scope, str) else None,
            kind=str(payload.get("kind", "access")),
            amr=amr[0] if isinstance(amr, list) and amr and isinstance(amr[0], str) else None,
        )

    def _check_times(self, payload: dict[str, Any]) -> None:
        now, leeway = self.clock.timestamp(), self.settings.leeway
        for claim in ("exp", "iat", "nbf"):
            value = payload.get(claim)
            if claim in payload and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise Unauthorized("token_invalid", f"the {claim} claim must be a number of seconds")
        if payload["exp"] <= now - leeway:
            raise Unauthorized("token_expired", "the token has expired")
        if payload.get("nbf", 0) > now + leeway or payload["iat"] > now + leeway:
            raise Unauthorized("token_not_yet_valid", "the token is not valid yet")
