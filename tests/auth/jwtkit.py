"""Key files and hand-made tokens for the JWT tests: good ones, and every way a token can be bad."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


@dataclass(frozen=True)
class KeyPair:
    kid: str
    private_pem: bytes
    public_pem: bytes
    private_file: Path
    public_file: Path


def make_keypair(folder: Path, algorithm: str, kid: str) -> KeyPair:
    """A fresh private/public key pair for RS256 or EdDSA, written as PEM files."""
    private: Any
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    folder.mkdir(parents=True, exist_ok=True)
    private_file = folder / f"{kid}.key.pem"
    public_file = folder / f"{kid}.pub.pem"
    private_file.write_bytes(private_pem)
    public_file.write_bytes(public_pem)
    return KeyPair(kid, private_pem, public_pem, private_file, public_file)


def claims(sub: str = "p-xie", org: str = "pub-util", **changes: Any) -> dict[str, Any]:
    """A valid claim set for a demo person; `changes` set claims, a value of None removes one."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": "cityhub", "aud": "cityhub", "sub": sub, "org": org, "roles": ["official", "chair"],
        "iat": now, "nbf": now, "exp": now + 600, "jti": uuid.uuid4().hex,
    }
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_raw_key(payload: dict[str, Any], key: bytes, kid: str) -> str:
    """An HS256 token whose HMAC key is arbitrary bytes (pyjwt refuses to do this with a PEM public key)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(payload).encode())
    signature = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def sign(payload: dict[str, Any], key: Any, algorithm: str, kid: str) -> str:
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def bad_tokens(key: KeyPair, algorithm: str, *, other: KeyPair) -> dict[str, tuple[str, str]]:
    """Every signature/claim failure: name -> (token, the refusal code the hub must answer with)."""
    past = int(time.time()) - 3600
    future = int(time.time()) + 3600

    def good(**changes: Any) -> str:
        return sign(claims(**changes), key.private_pem, algorithm, key.kid)

    wrong_sig = good().rsplit(".", 1)[0] + "." + sign(claims(), other.private_pem, algorithm, key.kid).rsplit(".", 1)[1]
    return {
        "alg none": (jwt.encode(claims(), None, algorithm="none", headers={"kid": key.kid}), "token_unsigned"),
        "algorithm confusion": (hs256_with_raw_key(claims(), key.public_pem, key.kid), "token_algorithm_refused"),
        "wrong signature": (wrong_sig, "token_bad_signature"),
        "signed by another key": (sign(claims(), other.private_pem, algorithm, key.kid), "token_bad_signature"),
        "expired": (good(iat=past - 600, nbf=past - 600, exp=past), "token_expired"),
        "nbf in the future": (good(nbf=future), "token_not_yet_valid"),
        "wrong aud": (good(aud="someone-else"), "token_wrong_audience"),
        "wrong iss": (good(iss="evil-portal"), "token_wrong_issuer"),
        "missing exp": (good(exp=None), "token_missing_exp"),
        "missing sub": (good(sub=None), "token_missing_sub"),
        "missing jti": (good(jti=None), "token_missing_jti"),
        "unknown kid": (sign(claims(), key.private_pem, algorithm, "no-such-kid"), "token_unknown_kid"),
        "not a jwt": ("not.a.jwt", "token_malformed"),
        "unknown person": (good(sub="p-nobody"), "unknown_person"),
        "org mismatch": (good(org="finance"), "org_mismatch"),
    }
