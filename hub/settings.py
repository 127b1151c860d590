"""Every setting of CityHub: frozen dataclasses, one per section, loaded once.

Sources, later ones winning: defaults, an optional TOML file (`[section] key = value`), then the environment
(`CITYHUB_<SECTION>_<KEY>`, e.g. `CITYHUB_DATABASE_URL`). Errors name the bad key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the key."""


# Settings that were renamed: using the old name is an error that names the new one (never silently ignored).
MOVED = {"supervision.timezone": "server.timezone"}


def _env_name(key: str) -> str:
    return "CITYHUB_" + key.replace(".", "_").upper()


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    # The city's time zone: every time on every page, in every export and in the browser code is shown in it,
    # and due days end in it. One setting for the whole hub.
    timezone: str = "Asia/Shanghai"
    # The URL people open; used for Origin checks and links. Empty: http://{host}:{port}.
    public_url: str = ""
    # Extra origins trusted to open WebSockets and send forms and API requests from a browser (besides
    # public_url), e.g. the city portal that posts /auth/handoff.
    allowed_origins: tuple[str, ...] = ()
    demo: bool = False
    var_dir: Path = Path("var")
    max_body_bytes: int = 1_048_576
    log_json: bool = False
    # Check every API response against the OpenAPI document (status, media type, body schema): a response that
    # breaks it is logged as an error and answered 500 instead. For tests and staging; it costs a validation.
    check_responses: bool = False
    log_level: str = "INFO"
    # Cookies get the Secure flag when public_url is https.
    cookie_name: str = "cityhub_session"
    # This node's id on the bus; empty: hostname-pid.
    node_id: str = ""
    # How other nodes reach this one (node registry); empty: http://{host}:{port}.
    internal_url: str = ""
    # The address browsers send media to on this node; empty: host.
    media_address: str = ""
    # Seconds between this node's announcements in the node registry (it expires after three; so do room claims).
    heartbeat: float = 5.0
    # On SIGTERM: seconds to wait for clients to leave before exiting.
    drain_seconds: float = 30.0
    # A connection that has not sent a complete request head within this many seconds (slowloris), or stays idle
    # that long between two requests, is closed; requests being answered and WebSockets are not affected.
    idle_timeout: float = 15.0
    # HTTPS served by the hub itself (PEM files); empty: plain HTTP (TLS ends at nginx, as docs/deploy.md shows).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # Certificate sign-in (/signin/certificate): the city CA's certificates (PEM) that issue leaders' certificates,
    # and its revocation list (PEM or DER, read again whenever the file changes). With tls_* set, the hub asks
    # browsers for a certificate itself; behind nginx, nginx passes it in client_cert_header, which the hub reads
    # only from these addresses (IPs or networks).
    client_ca_file: str = ""
    client_crl_file: str = ""
    trusted_proxies: tuple[str, ...] = ()
    client_cert_header: str = "X-Client-Certificate"
    # People holding one of these roles sign in with their certificate only (a token is refused for them); these
    # actions need a certificate sign-in: "signoff" (a handwritten sign-off), "close" (closing an item).
    certificate_roles: tuple[str, ...] = ()
    certificate_actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatabaseSettings:
    # Empty: SQLite file under var_dir.
    url: str = ""
    echo: bool = False


@dataclass(frozen=True)
class RedisSettings:
    # Empty: the in-process bus (one node only).
    url: str = ""
    # Prefix of every key and channel, so several hubs (or test runs) can share one Redis.
    prefix: str = "cityhub"


@dataclass(frozen=True)
class JwtSettings:
    algorithm: str = "HS256"
    # HS256: the shared secret file, generated on first run when missing. Empty: <var_dir>/jwt-secret.
    secret_file: str = ""
    # EdDSA / RS256: the private key that signs (PEM) and the kid it is published under.
    private_key_file: str = ""
    kid: str = "k1"
    # Public keys that verify, as "kid=path.pem" (rotation: old and new side by side).
    public_key_files: tuple[str, ...] = ()
    issuer: str = "cityhub"
    audience: str = "cityhub"
    ttl: int = 3600
    session_ttl: int = 12 * 3600
    leeway: int = 5
    # Seconds between two reads of the change log of revocations and directory changes (hub/auth/changes.py):
    # how soon a change made by another process (the CLI, a node without Redis) closes the sockets it concerns.
    change_poll: float = 1.0


@dataclass(frozen=True)
class IceSettings:
    # STUN/TURN URLs handed to clients, e.g. "turn:turn.city.example:3478?transport=udp". Empty: host candidates.
    servers: tuple[str, ...] = ()
    # coturn `static-auth-secret` (use-auth-secret): credentials are computed per client, never static.
    turn_secret: str = ""
    turn_ttl: int = 3600


@dataclass(frozen=True)
class SupervisionSettings:
    # (Due dates are calendar days in the city's time zone, server.timezone: an item is overdue once its due day
    # has ended there.)
    # Reminders this many days before the deadline, escalations this many days after it; each fires once.
    reminder_days: tuple[str, ...] = ("3", "1")
    escalation_days: tuple[str, ...] = ("0", "3", "7")
    # Seconds between two looks of the reminder scheduler.
    scheduler_interval: float = 300.0
    # The word before an item's number, as official papers carry one: 督办〔2026〕12号.
    number_prefix: str = "督办"
    # Department appraisal (督查考核): score = 100 + the sum of weight x figure (hub/supervision/appraisal.py).
    appraisal_weights: tuple[str, ...] = (
        "closed_on_time=5", "closed_late=1", "overdue=-5", "returned=-2", "extensions_granted=-1",
    )
    attachment_max_bytes: int = 10_485_760
    attachment_types: tuple[str, ...] = (
        "application/pdf", "image/png", "image/jpeg", "text/plain", "text/csv",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    # Item events are POSTed to these URLs, signed with HMAC-SHA256 under webhook_secret; nowhere else.
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: str = ""
    webhook_attempts: int = 5
    # Seconds before the first retry; doubled for each further one.
    webhook_backoff: float = 2.0
    webhook_timeout: float = 10.0
    # The audit chain's signed checkpoints (docs/supervision.md): the Ed25519 private key (PEM) that signs them,
    # kept outside the database and created 0600 on first start when missing. Empty: <var_dir>/audit-key.pem.
    audit_key_file: str = ""
    # Every checkpoint is also appended here (JSON lines). Empty: <var_dir>/audit-checkpoints.jsonl.
    audit_checkpoint_file: str = ""
    # A checkpoint after this many new events, and every this many seconds when events came since the last one.
    audit_checkpoint_every: int = 50
    audit_checkpoint_interval: float = 60.0
    # Public keys (PEM) of earlier checkpoint keys that still verify old checkpoints after a key change.
    audit_public_key_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignalingSettings:
    # Seconds between WebSocket pings; a peer that misses a pong for half of it is dropped.
    heartbeat: float = 10.0
    # An unauthenticated socket must send `auth` within this many seconds.
    auth_timeout: float = 10.0
    max_frame_bytes: int = 262_144
    max_sdp_bytes: int = 65_536
    # Sustained messages per second a client may send, and the burst above that.
    rate: float = 30.0
    burst: int = 120
    # Messages queued for one slow client before it is disconnected.
    send_queue: int = 512


@dataclass(frozen=True)
class DocsSettings:
    # One Yjs update (or awareness message) from a client; larger ones close the socket with 4413.
    max_update_bytes: int = 1_048_576
    # A document's encoded size; an update that would grow it further is refused with 4414.
    max_document_bytes: int = 16_777_216
    # Stored updates are folded into a snapshot after this many, or after this many idle seconds.
    compact_every_updates: int = 200
    compact_idle_seconds: float = 10.0
    # Messages queued for one slow client before it is disconnected (4529).
    send_queue: int = 1024
    # Named versions kept per document.
    max_versions: int = 200


# A gallery page shows at most 25 tiles; a few more audio slots than speakers anyone can follow at once.
MAX_LAST_N = 25
MAX_AUDIO_N = 8


@dataclass(frozen=True)
class MeetingSettings:
    # A participant whose media stops arriving for this many seconds is removed (no ghost participants).
    inactivity_timeout: float = 6.0
    # Seconds a client has to answer a server offer before it is removed.
    negotiation_timeout: float = 15.0
    # How often the active speaker is re-evaluated.
    speaker_interval: float = 0.3
    # Presence of a participant on the bus lives this long unless its node refreshes it (node crash -> gone).
    presence_ttl: float = 30.0
    # Chat messages a late joiner receives.
    chat_history: int = 50
    # Several nodes: seconds a node waits for the node holding a meeting's media to answer a relayed request
    # (join, offer, answer, candidate, leave); then the client gets `media_node_unreachable`. Above the SFU's
    # own worst case for an answer (ICE gathering with an unreachable STUN server takes a few seconds).
    relay_timeout: float = 10.0
    # Large meetings: each participant receives at most this many videos through fixed receive slots (the
    # spotlight, the main venue, screen shares, the tiles it shows, recent speakers); 0: everyone receives every
    # track, each on its own m-line (small meetings only: the SDP grows with the room).
    last_n: int = 9
    # ... and the microphones of this many loudest speakers, plus the spotlight's and the main venue's.
    audio_n: int = 3
    # Tiles (besides the spotlight, the main venue and screen shares) a participant's page shows at the full
    # frame rate; when it shows more, they are small and get only the base temporal layer of each publisher
    # (browsers publish VP8 with three temporal layers: a quarter of the frames, a third of the packets).
    full_rate_tiles: int = 4
    # A live meeting nobody is in ends by itself once its scheduled end has passed, or after it has been empty
    # this many seconds; every node looks every sweep_interval seconds.
    empty_end_after: float = 1800.0
    sweep_interval: float = 60.0
    # Everyone a meeting concerns is told this many seconds before it starts (0: never); every node looks every
    # sweep_interval seconds, and only one tells.
    remind_before: float = 600.0


@dataclass(frozen=True)
class RecordingSettings:
    # Where recordings are kept, one folder each (the per-track files, the journal, the archive): several nodes
    # share one volume, so any node plays what another recorded. Empty: <var_dir>/recordings.
    dir: str = ""
    # A recording is deleted (files gone, the audit chain told) this many days after it stopped; 0: kept forever.
    retention_days: int = 365
    # The archive: frame size and rate of the composed video.
    archive_width: int = 1280
    archive_height: int = 720
    archive_fps: int = 15
    # Archive jobs one node runs at a time (each is a worker process using about one core).
    archive_workers: int = 1
    # Seconds between the recording node's signs of life; a recording silent for three of them lost its node (the
    # part recorded so far is archived), and so did an archive job. Retention and these looks run every
    # sweep_interval seconds on every node.
    heartbeat: float = 10.0
    sweep_interval: float = 60.0


@dataclass(frozen=True)
class CallSettings:
    # Seconds a call rings before it is missed.
    ring_timeout: float = 30.0
    # Seconds a phone device (browser tab, terminal) stays online without refreshing its presence.
    presence_ttl: float = 20.0
    # Seconds between sweeps for calls whose ring time ran out or whose parties vanished (crashed nodes).
    sweep_interval: float = 5.0
    # Seconds an answered call waits for a party whose socket closed to come back (call.resume); 0: end at once.
    reconnect_grace: float = 15.0


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    jwt: JwtSettings = field(default_factory=JwtSettings)
    ice: IceSettings = field(default_factory=IceSettings)
    supervision: SupervisionSettings = field(default_factory=SupervisionSettings)
    signaling: SignalingSettings = field(default_factory=SignalingSettings)
    docs: DocsSettings = field(default_factory=DocsSettings)
    meetings: MeetingSettings = field(default_factory=MeetingSettings)
    calls: CallSettings = field(default_factory=CallSettings)
    recordings: RecordingSettings = field(default_factory=RecordingSettings)

    @property
    def database_url(self) -> str:
        """The database URL, the SQLite default resolved under var_dir."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.server.var_dir / 'cityhub.db').resolve()}"

    @property
    def recordings_dir(self) -> Path:
        """Where recordings are kept (recordings.dir, else under var_dir)."""
        return Path(self.recordings.dir) if self.recordings.dir else self.server.var_dir / "recordings"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The city's time zone (server.timezone)."""
        return zoneinfo.ZoneInfo(self.server.timezone)

    @property
    def public_url(self) -> str:
        """The URL people open, without a trailing slash."""
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        return f"http://{self.server.host}:{self.server.port}"

    def replace(self, **sections: Mapping[str, Any]) -> Settings:
        """A copy with some keys of some sections changed: `settings.replace(server={"demo": True})`."""
        changed = {
            name: dataclasses.replace(getattr(self, name), **values) for name, values in sections.items()
        }
        return dataclasses.replace(self, **changed)


def _convert(key: str, hint: Any, raw: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{key}: expected true or false, got {raw!r}")
    if hint is int or hint is float:
        if isinstance(raw, bool):
            raise SettingsError(f"{key}: expected a number, got {raw!r}")
        if hint is int and isinstance(raw, float) and not raw.is_integer():
            raise SettingsError(f"{key}: expected a whole number, got {raw!r}")
        try:
            return hint(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{key}: expected a number, got {raw!r}") from None
    if hint is Path:
        if not isinstance(raw, str) or not raw.strip():
            raise SettingsError(f"{key}: expected a path, got {raw!r}")
        return Path(raw)
    if hint is str:
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise SettingsError(f"{key}: expected a string, got {raw!r}")
        return str(raw)
    if origin is tuple:
        if isinstance(raw, str):
            items = [part.strip() for part in raw.split(",") if part.strip()]
        elif isinstance(raw, list | tuple):
            items = [str(part) for part in raw]
        else:
            raise SettingsError(f"{key}: expected a list, got {raw!r}")
        return tuple(items)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return None if raw in (None, "") else _convert(key, inner[0], raw)
    raise SettingsError(f"{key}: unsupported setting type {hint!r}")


def _section_types() -> dict[str, type]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def load_settings(
    config_file: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from defaults, an optional TOML file and the environment; raises SettingsError naming the key."""
    env = os.environ if environ is None else environ
    file_values: dict[str, Any] = {}
    path = config_file or env.get("CITYHUB_CONFIG")
    if path:
        try:
            file_values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path}: {exc}") from None
    sections = _section_types()
    for name in file_values:
        if name not in sections:
            raise SettingsError(f"{name}: unknown section in {path} (known: {', '.join(sections)})")
    known_env = set()
    built: dict[str, Any] = {}
    for name, cls in sections.items():
        from_file = file_values.get(name, {})
        if not isinstance(from_file, dict):
            raise SettingsError(f"{name}: expected a table in {path}")
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        for key in from_file:
            if f"{name}.{key}" in MOVED:
                raise SettingsError(f"{name}.{key} in {path}: the setting is now {MOVED[f'{name}.{key}']}")
            if key not in names:
                raise SettingsError(f"{name}.{key}: unknown setting in {path}")
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            env_key = f"CITYHUB_{name}_{f.name}".upper()
            known_env.add(env_key)
            if env_key in env:
                values[f.name] = _convert(env_key, hints[f.name], env[env_key])
            elif f.name in from_file:
                values[f.name] = _convert(f"{name}.{f.name}", hints[f.name], from_file[f.name])
        built[name] = cls(**values)
    unknown = sorted(k for k in env if k.startswith("CITYHUB_") and k not in known_env and k != "CITYHUB_CONFIG")
    for old, new in MOVED.items():
        if _env_name(old) in unknown:
            raise SettingsError(f"{_env_name(old)}: the setting is now {_env_name(new)} ({new})")
    if unknown:
        raise SettingsError(f"{unknown[0]}: unknown setting (see docs/deploy.md for the names)")
    settings = Settings(**built)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    try:
        zoneinfo.ZoneInfo(settings.server.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"server.timezone: unknown time zone {settings.server.timezone!r}") from None
    _validate_certificates(settings.server)
    jwt = settings.jwt
    if jwt.algorithm not in {"HS256", "RS256", "EdDSA"}:
        raise SettingsError(f"jwt.algorithm: must be HS256, RS256 or EdDSA, not {jwt.algorithm!r}")
    if jwt.algorithm != "HS256" and not jwt.private_key_file and not jwt.public_key_files:
        raise SettingsError("jwt.private_key_file: required for RS256/EdDSA (or public_key_files to verify only)")
    for entry in jwt.public_key_files:
        if "=" not in entry:
            raise SettingsError(f"jwt.public_key_files: {entry!r} is not kid=path")
    for name in ("ttl", "session_ttl", "change_poll"):
        if getattr(jwt, name) <= 0:
            raise SettingsError(f"jwt.{name}: must be positive, not {getattr(jwt, name)}")
    if jwt.leeway < 0:
        raise SettingsError(f"jwt.leeway: must not be negative, not {jwt.leeway}")
    if settings.server.idle_timeout <= 0:
        raise SettingsError(f"server.idle_timeout: must be positive, not {settings.server.idle_timeout}")
    if settings.server.heartbeat <= 0:
        raise SettingsError(f"server.heartbeat: must be positive, not {settings.server.heartbeat}")
    if settings.server.max_body_bytes <= 0:
        raise SettingsError(f"server.max_body_bytes: must be positive, not {settings.server.max_body_bytes}")
    if not 0 < settings.server.port < 65536 and settings.server.port != 0:
        raise SettingsError(f"server.port: {settings.server.port} is not a port")
    url = settings.database.url
    if url and not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise SettingsError("database.url: must be sqlite+aiosqlite://... or postgresql+asyncpg://...")
    docs = settings.docs
    for key in ("max_update_bytes", "max_document_bytes", "compact_every_updates", "send_queue", "max_versions"):
        if getattr(docs, key) <= 0:
            raise SettingsError(f"docs.{key}: must be positive")
    if docs.max_update_bytes > docs.max_document_bytes:
        raise SettingsError("docs.max_update_bytes: must not exceed docs.max_document_bytes")
    _validate_supervision(settings.supervision)
    _validate_recordings(settings.recordings)
    for key in ("ring_timeout", "presence_ttl", "sweep_interval"):
        if getattr(settings.calls, key) <= 0:
            raise SettingsError(f"calls.{key}: must be positive")
    if settings.meetings.relay_timeout <= 0:
        raise SettingsError("meetings.relay_timeout: must be positive")
    for key in ("empty_end_after", "sweep_interval"):
        if getattr(settings.meetings, key) <= 0:
            raise SettingsError(f"meetings.{key}: must be positive")
    if settings.meetings.remind_before < 0:
        raise SettingsError("meetings.remind_before: must not be negative (0: no reminders)")
    if not 0 <= settings.meetings.last_n <= MAX_LAST_N:
        raise SettingsError(f"meetings.last_n: must be 0 to {MAX_LAST_N}, not {settings.meetings.last_n}")
    if not 0 <= settings.meetings.full_rate_tiles <= MAX_LAST_N:
        raise SettingsError(f"meetings.full_rate_tiles: must be 0 to {MAX_LAST_N}, "
                            f"not {settings.meetings.full_rate_tiles}")
    if not 1 <= settings.meetings.audio_n <= MAX_AUDIO_N:
        raise SettingsError(f"meetings.audio_n: must be 1 to {MAX_AUDIO_N}, not {settings.meetings.audio_n}")
    if settings.calls.reconnect_grace < 0:
        raise SettingsError("calls.reconnect_grace: must not be negative")
    if settings.redis.url and not settings.redis.url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("redis.url: must start with redis://, rediss:// or unix://")


def _validate_certificates(server: ServerSettings) -> None:
    if bool(server.tls_cert_file) != bool(server.tls_key_file):
        raise SettingsError("server.tls_cert_file/tls_key_file: give both, or neither")
    for proxy in server.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise SettingsError(f"server.trusted_proxies: {proxy!r} is not an address or network") from None
    unknown = set(server.certificate_actions) - {"signoff", "close"}
    if unknown:
        raise SettingsError(f"server.certificate_actions: unknown {sorted(unknown)} (signoff, close)")


def _validate_recordings(rec: RecordingSettings) -> None:
    for key in ("archive_width", "archive_height", "archive_fps", "archive_workers", "heartbeat", "sweep_interval"):
        if getattr(rec, key) <= 0:
            raise SettingsError(f"recordings.{key}: must be positive, not {getattr(rec, key)}")
    if rec.archive_width % 2 or rec.archive_height % 2:
        raise SettingsError("recordings.archive_width/archive_height: must be even (4:2:0 video)")
    if rec.retention_days < 0:
        raise SettingsError(f"recordings.retention_days: must be 0 (keep) or more, not {rec.retention_days}")


def _validate_supervision(sv: SupervisionSettings) -> None:
    if not 1 <= len(sv.number_prefix.strip()) <= 10:
        raise SettingsError("supervision.number_prefix: 1 to 10 characters (督办〔2026〕12号 has 督办)")
    from hub.supervision.appraisal import parse_weights  # the figures it weighs live there

    try:
        parse_weights(sv.appraisal_weights)
    except ValueError as exc:
        raise SettingsError(f"supervision.appraisal_weights: {exc}") from None
    for key in ("reminder_days", "escalation_days"):
        for value in getattr(sv, key):
            if not value.isdigit() or int(value) > 365:
                raise SettingsError(f"supervision.{key}: {value!r} is not a whole number of days (0-365)")
    if sv.webhook_urls and not sv.webhook_secret:
        raise SettingsError("supervision.webhook_secret: required when supervision.webhook_urls are set")
    for url in sv.webhook_urls:
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"supervision.webhook_urls: {url!r} is not an http(s) URL")
    if sv.webhook_attempts < 1:
        raise SettingsError("supervision.webhook_attempts: must be at least 1")
    if sv.scheduler_interval <= 0:
        raise SettingsError("supervision.scheduler_interval: must be positive")
    if sv.audit_checkpoint_every < 1:
        raise SettingsError("supervision.audit_checkpoint_every: must be at least 1")
    if sv.audit_checkpoint_interval <= 0:
        raise SettingsError("supervision.audit_checkpoint_interval: must be positive")
