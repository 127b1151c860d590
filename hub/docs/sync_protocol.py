"""The y-websocket wire format: strict parsing of incoming frames, encoding of outgoing ones, close codes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from pycrdt import YMessageType, YSyncMessageType

# Sent by the server to one connection after every sync step 2 / update message of that connection
# has been stored (or found empty): varuint MSG_STORED, varuint count of such messages so far. Only to a
# connection that asked for it by sending MSG_STORED itself (no payload): a stock y-websocket client does not
# know the type and would log "Unable to compute message" for every acknowledgement.
MSG_STORED = 100
# y-protocols' "query awareness": the client asks for every known awareness state.
MSG_QUERY_AWARENESS = 3
# Sent by a client to keep its connection past its token's expiry: varuint MSG_AUTH_RENEW, varstring token
# (a browser: the renewal_token of POST /api/v1/auth/session/renew). Refused: the connection closes with 4401.
MSG_AUTH_RENEW = 101

EMPTY_UPDATE = b"\x00\x00"


class CloseCode(IntEnum):
    """WebSocket close codes of /docs/{id}/ws (documented in docs/documents.md).

    As y-websocket assumes, 44xx mean "reconnecting cannot help" and everything else is transient.
    """

    GOING_AWAY = 1001  # server shutting down, the client reconnects
    INTERNAL_ERROR = 1011  # storage failed; nothing was applied, the client reconnects
    MALFORMED = 4400  # not a valid y-websocket binary message
    ACCESS_REVOKED = 4401  # the access check no longer holds: revoked, deactivated, unshared, token expired
    READ_ONLY = 4403  # a reader sent a document update
    UPDATE_TOO_LARGE = 4413  # one update (or awareness message) above the limit
    DOCUMENT_TOO_LARGE = 4414  # applying the update would grow the document past its limit
    TOO_SLOW = 4529  # the client did not read its messages; the client reconnects


class ProtocolError(Exception):
    """A frame that is not a well-formed y-websocket message."""


class Refusal(Exception):
    """A message refused by the room; the connection is closed with ``code`` and ``reason``."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SyncMessage:
    kind: YSyncMessageType
    payload: bytes  # a state vector (step 1) or an update (step 2, update)


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    payload: bytes  # an encoded awareness update


@dataclass(frozen=True, slots=True)
class QueryAwarenessMessage:
    pass


@dataclass(frozen=True, slots=True)
class AskAcksMessage:
    """The client wants MSG_STORED acknowledgements on this connection (the hub's editor does)."""


IncomingMessage = SyncMessage | AwarenessMessage | QueryAwarenessMessage | AskAcksMessage


class Reader:
    """Reads lib0 var-uints and var-byte-arrays, raising ProtocolError instead of reading past the end."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def done(self) -> bool:
        return self._pos == len(self._data)

    def var_uint(self) -> int:
        value = 0
        shift = 0
        while True:
            if self._pos >= len(self._data):
                raise ProtocolError("truncated number")
            byte = self._data[self._pos]
            self._pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ProtocolError("number too large")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self._pos + length
        if end > len(self._data):
            present = len(self._data) - self._pos
            raise ProtocolError(f"truncated message: {length} bytes announced, {present} present")
        chunk = self._data[self._pos:end]
        self._pos = end
        return chunk

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("invalid UTF-8 string") from exc


def write_var_uint(num: int) -> bytes:
    out = bytearray()
    while num > 0x7F:
        out.append(0x80 | (num & 0x7F))
        num >>= 7
    out.append(num)
    return bytes(out)


def write_var_bytes(data: bytes) -> bytes:
    return write_var_uint(len(data)) + data


def parse_message(frame: bytes) -> IncomingMessage:
    """Parse one binary frame; exactly one message per frame, nothing left over."""
    reader = Reader(frame)
    msg_type = reader.var_uint()
    message: IncomingMessage
    if msg_type == YMessageType.SYNC:
        sub = reader.var_uint()
        if sub not in (YSyncMessageType.SYNC_STEP1, YSyncMessageType.SYNC_STEP2,
                       YSyncMessageType.SYNC_UPDATE):
            raise ProtocolError(f"unknown sync message type {sub}")
        message = SyncMessage(YSyncMessageType(sub), reader.var_bytes())
    elif msg_type == YMessageType.AWARENESS:
        message = AwarenessMessage(reader.var_bytes())
    elif msg_type == MSG_QUERY_AWARENESS:
        message = QueryAwarenessMessage()
    elif msg_type == MSG_STORED:
        message = AskAcksMessage()
    else:
        raise ProtocolError(f"unknown message type {msg_type}")
    if not reader.done:
        raise ProtocolError("trailing bytes after the message")
    return message


def renewal_token(frame: bytes) -> str | None:
    """The token of a MSG_AUTH_RENEW frame; None for any other message."""
    reader = Reader(frame)
    if not frame or reader.var_uint() != MSG_AUTH_RENEW:
        return None
    token = reader.var_string()
    if not reader.done:
        raise ProtocolError("trailing bytes after the message")
    return token


def renewal_message(token: str) -> bytes:
    return write_var_uint(MSG_AUTH_RENEW) + write_var_bytes(token.encode())


def sync_message(kind: YSyncMessageType, payload: bytes) -> bytes:
    return bytes([YMessageType.SYNC, kind]) + write_var_bytes(payload)


def awareness_message(update: bytes) -> bytes:
    return bytes([YMessageType.AWARENESS]) + write_var_bytes(update)


# What a client sends to ask for MSG_STORED acknowledgements.
ASK_ACKS = write_var_uint(MSG_STORED)


def stored_message(count: int) -> bytes:
    return write_var_uint(MSG_STORED) + write_var_uint(count)
