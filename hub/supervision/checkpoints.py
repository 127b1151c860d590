"""Signed checkpoints of the audit chain's head: their byte form, the Ed25519 keys, and where copies are kept.

A checkpoint says "at `at`, the chain had `count` events and event `seq` had hash `hash`", signed with an Ed25519
key kept in a file outside the database. Someone who can write the database but not read that file cannot make a
checkpoint, so a chain cut short or recomputed no longer matches the checkpoints signed before.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.settings import Settings, SettingsError
from hub.supervision.audit import canonical
from hub.supervision.tables import audit, audit_checkpoints

log = logging.getLogger(__name__)

# Signed along with the fields, so a checkpoint's signature means nothing in any other context.
KIND = "cityhub.audit.checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    count: int
    at: datetime
    key_id: str
    signature: str = ""

    def payload(self) -> bytes:
        """The bytes that are signed: canonical JSON of the fields and KIND."""
        return canonical({"kind": KIND, "seq": self.seq, "hash": self.hash, "count": self.count,
                          "at": self.at.isoformat(timespec="microseconds"), "key_id": self.key_id})

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the file, the log line, webhooks and the verify report."""
        return {"seq": self.seq, "hash": self.hash, "count": self.count,
                "at": self.at.isoformat(timespec="microseconds"), "key_id": self.key_id,
                "signature": self.signature}

    @classmethod
    def from_dict(cls, raw: Any) -> Checkpoint:
        """A checkpoint from its JSON shape (or a webhook body holding one); ValueError when it is not one."""
        if isinstance(raw, dict) and isinstance(raw.get("checkpoint"), dict):
            raw = raw["checkpoint"]
        try:
            at = datetime.fromisoformat(raw["at"])
            found = cls(int(raw["seq"]), str(raw["hash"]), int(raw["count"]), at, str(raw["key_id"]),
                        str(raw["signature"]))
        except (TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"not a checkpoint: {exc}") from None
        if at.tzinfo is None:
            raise ValueError("not a checkpoint: its time has no zone")
        return found


def key_id(public: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def key_path(settings: Settings) -> Path:
    sv = settings.supervision
    return Path(sv.audit_key_file) if sv.audit_key_file else settings.server.var_dir / "audit-key.pem"


def checkpoint_file(settings: Settings) -> Path:
    sv = settings.supervision
    return Path(sv.audit_checkpoint_file) if sv.audit_checkpoint_file else (
        settings.server.var_dir / "audit-checkpoints.jsonl")


class CheckpointKeys:
    """The private key that signs checkpoints (when this process holds it) and the public keys that verify them."""

    def __init__(self, private: Ed25519PrivateKey | None, public: Iterable[Ed25519PublicKey] = ()) -> None:
        self.private = private
        self.public = {key_id(k): k for k in public}
        if private is not None:
            self.signing_id: str | None = key_id(private.public_key())
            self.public[self.signing_id] = private.public_key()
        else:
            self.signing_id = None

    @classmethod
    def for_signing(cls, settings: Settings) -> CheckpointKeys:
        """The hub's keys: the private key file is created (0600) when missing."""
        return cls(_load_or_create(key_path(settings)), _public_keys(settings.supervision.audit_public_key_files))

    @classmethod
    def for_verifying(cls, settings: Settings, extra_public: Iterable[str] = ()) -> CheckpointKeys:
        """Keys to verify with, creating nothing: the private key file if it is there, and the public key files."""
        path = key_path(settings)
        private = _read_private(path) if path.exists() else None
        return cls(private, _public_keys([*settings.supervision.audit_public_key_files, *extra_public]))

    def sign(self, *, seq: int, hash: str, count: int, at: datetime) -> Checkpoint:
        assert self.private is not None and self.signing_id is not None
        unsigned = Checkpoint(seq, hash, count, at, self.signing_id)
        signature = base64.b64encode(self.private.sign(unsigned.payload())).decode("ascii")
        return Checkpoint(seq, hash, count, at, self.signing_id, signature)

    def problem(self, checkpoint: Checkpoint) -> str | None:
        """Why a checkpoint's signature does not hold (None when it does)."""
        public = self.public.get(checkpoint.key_id)
        if public is None:
            return f"signed with an unknown key {checkpoint.key_id!r}"
        try:
            public.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.payload())
        except (InvalidSignature, ValueError):
            return "the signature does not match the checkpoint"
        return None

    def public_pem(self) -> str:
        """The signing key's public half, for external verifiers."""
        assert self.private is not None
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SettingsError(f"supervision.audit_key_file: cannot read {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SettingsError(f"supervision.audit_key_file: {path} is not an Ed25519 private key")
    if path.stat().st_mode & 0o077:
        log.warning("audit checkpoint key %s can be read by others than its owner (chmod 600 it)", path)
    return key


def _load_or_create(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read_private(path)  # another process made it first
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        log.info("generated a new audit checkpoint key in %s (key id %s)", path, key_id(key.public_key()))
        return key
    return _read_private(path)


def _public_keys(paths: Iterable[str]) -> list[Ed25519PublicKey]:
    keys = []
    for path in paths:
        try:
            key = serialization.load_pem_public_key(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            raise SettingsError(f"supervision.audit_public_key_files: cannot read {path}: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SettingsError(f"supervision.audit_public_key_files: {path} is not an Ed25519 public key")
        keys.append(key)
    return keys


# --- copies: the database table and the append-only file -------------------------------------------------------------
async def insert(conn: AsyncConnection, checkpoint: Checkpoint) -> None:
    values = checkpoint.to_dict()
    values["at"] = checkpoint.at
    await conn.execute(sa.insert(audit_checkpoints).values(**values))


def _from_row(row: Any) -> Checkpoint:
    return Checkpoint(row.seq, row.hash, row.count, row.at, row.key_id, row.signature)


async def stored(conn: AsyncConnection) -> list[Checkpoint]:
    """Every checkpoint in the database, oldest first."""
    rows = (await conn.execute(sa.select(audit_checkpoints).order_by(audit_checkpoints.c.id))).all()
    return [_from_row(row) for row in rows]


async def newest_stored(conn: AsyncConnection) -> Checkpoint | None:
    """The database's checkpoint of the highest seq (its signature is not checked here)."""
    row = (
        await conn.execute(
            sa.select(audit_checkpoints)
            .order_by(audit_checkpoints.c.seq.desc(), audit_checkpoints.c.id.desc())
            .limit(1)
        )
    ).first()
    return _from_row(row) if row else None


async def count_events(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(audit))).scalar_one())


def append_to_file(path: Path, checkpoint: Checkpoint) -> None:
    """Append one JSON line and make it durable before the call returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(checkpoint.to_dict(), sort_keys=True) + "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def read_file(path: Path) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints in a file of JSON lines, and what is wrong with the lines that are not checkpoints.

    A line may carry text before its JSON object (a log line) and the object may be a webhook body holding the
    checkpoint, so the checkpoint file, grepped logs and a webhook receiver's records can all be read.
    """
    found: list[Checkpoint] = []
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        start = line.find("{")
        if not line.strip():
            continue
        try:
            if start < 0:
                raise ValueError("no JSON object")
            found.append(Checkpoint.from_dict(json.loads(line[start:])))
        except ValueError as exc:
            problems.append(f"{path}:{number}: {exc}")
    return found, problems
