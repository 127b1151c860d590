"""The `cityhub` command: serve, db upgrade, directory import/export/bind-certificate, token issue/revoke, and
more."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from hub import keys
from hub.app import app_runner, create_app, drain, server_tls
from hub.auth.certificates import fingerprint
from hub.bus import create_bus
from hub.bus.nodes import GROUP as NODES_GROUP
from hub.bus.nodes import NodeInfo
from hub.directory.importer import load_file
from hub.errors import BadRequest, HubError
from hub.logs import setup_logging
from hub.settings import Settings, SettingsError, load_settings
from hub.storage.db import Database
from hub.supervision import anchor
from hub.supervision.checkpoints import CheckpointKeys, checkpoint_file

log = logging.getLogger("cityhub")

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


@asynccontextmanager
async def services(settings: Settings) -> AsyncIterator[web.Application]:
    """The app's services started without serving HTTP (for commands that act on the hub's data)."""
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        yield app
    finally:
        await runner.cleanup()


@command("serve")
async def serve(args: argparse.Namespace, settings: Settings) -> int:
    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.demo:
        overrides["demo"] = True
    if overrides:
        settings = settings.replace(server=overrides)
    app = create_app(settings)
    runner = app_runner(app, access_log=None)
    await runner.setup()
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[int] = loop.create_future()

    def on_signal(signum: int) -> None:
        if not stop.done():
            stop.set_result(signum)

    # SIGTERM (docker stop, systemd) drains and ends the service cleanly with status 0; Ctrl-C stops at once.
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        site = web.TCPSite(runner, settings.server.host, settings.server.port, shutdown_timeout=5,
                           ssl_context=server_tls(settings))
        await site.start()
        print(f"CityHub is running: open {_open_url(settings, runner)}", flush=True)
        received = await stop
        if received == signal.SIGTERM:
            await drain(app, settings.server.drain_seconds)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await runner.cleanup()
    log.info("stopped")
    print("CityHub stopped", flush=True)
    return 0


def _open_url(settings: Settings, runner: web.AppRunner) -> str:
    """The URL to open: public_url when set, else the address actually bound (port 0 picks a free one)."""
    if settings.server.public_url:
        url = settings.public_url
    else:
        host, port = runner.addresses[0][:2]
        scheme = "https" if settings.server.tls_cert_file else "http"
        url = f"{scheme}://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    return f"{url}/login" if settings.server.demo else url


@command("db upgrade")
async def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        await db.upgrade()
    finally:
        await db.close()
    print(f"database at the latest schema: {settings.database_url.split('@')[-1]}")
    return 0


@command("directory import")
async def directory_import(args: argparse.Namespace, settings: Settings) -> int:
    data = load_file(Path(args.file))
    async with services(settings) as app:
        report = await app[keys.DIRECTORY].import_data(data, prune=args.prune)
    print(json.dumps(report.to_dict(), ensure_ascii=False))
    return 0


@command("directory export")
async def directory_export(args: argparse.Namespace, settings: Settings) -> int:
    async with services(settings) as app:
        data = await app[keys.DIRECTORY].export()
    if args.format == "json":
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), end="")
    return 0


@command("directory bind-certificate")
async def directory_bind_certificate(args: argparse.Namespace, settings: Settings) -> int:
    raw = await asyncio.to_thread(Path(args.file).read_bytes)
    try:
        cert = (x509.load_pem_x509_certificate(raw) if raw.lstrip().startswith(b"-----")
                else x509.load_der_x509_certificate(raw))
    except ValueError:
        print(f"{args.file}: not a certificate (PEM or DER)", file=sys.stderr)
        return 2
    sha = fingerprint(cert.public_bytes(Encoding.DER))
    async with services(settings) as app:
        await app[keys.DIRECTORY].bind_certificate(args.person, sha)
    print(json.dumps({"person": args.person, "sha256": sha, "subject": cert.subject.rfc4514_string(),
                      "not_valid_after": cert.not_valid_after_utc.isoformat()}, ensure_ascii=False))
    return 0


@command("token issue")
async def token_issue(args: argparse.Namespace, settings: Settings) -> int:
    if args.ttl is not None and args.ttl <= 0:
        raise BadRequest("invalid_ttl", f"--ttl must be a positive number of seconds, not {args.ttl}")
    async with services(settings) as app:
        token = await app[keys.AUTH].issue_for_id(args.person, ttl=args.ttl, scope=args.scope)
    print(token)
    return 0


@command("token revoke")
async def token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async with services(settings) as app:
        fresh = await app[keys.AUTH].revoke(args.jti, by="cli")
    print(f"{args.jti} revoked" if fresh else f"{args.jti} was already revoked")
    return 0


@command("audit verify")
async def audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Walk the supervision audit chain and hold it against its signed checkpoints; exit 1 when it does not hold."""
    verifying_keys = CheckpointKeys.for_verifying(settings, args.public_key)
    files = [checkpoint_file(settings), *(Path(f) for f in args.checkpoints)]
    db = Database(settings.database_url)
    try:
        result = await anchor.verify(db, verifying_keys, files)
    finally:
        await db.close()
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    return 0 if result.intact else 1


@command("audit public-key")
async def audit_public_key(args: argparse.Namespace, settings: Settings) -> int:
    """Print the public key that verifies audit checkpoints (the key file is created when missing)."""
    print(CheckpointKeys.for_signing(settings).public_pem(), end="")
    return 0


def _phone_inputs(args: argparse.Namespace) -> tuple[str, str]:
    """The terminal's token, and what is wrong with the options (empty when nothing)."""
    token = args.token or ""
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            return "", f"cannot read {args.token_file}: {exc.strerror}"
    if not token:
        return "", "give --token or --token-file"
    if args.video != "test-pattern" and not Path(args.video).is_file():
        return "", f"{args.video} does not exist"
    return token, ""


@command("phone")
async def phone(args: argparse.Namespace, settings: Settings) -> int:
    from signaling.phone_client import PhoneTerminal, run_terminal

    token, problem = _phone_inputs(args)
    if problem:
        print(f"cityhub phone: {problem}", file=sys.stderr)
        return 2
    try:
        terminal = PhoneTerminal(args.url, token, auto_answer=args.auto_answer, video=args.video, dial=args.dial,
                                 label=args.label)
    except ValueError as exc:
        print(f"cityhub phone: {exc}", file=sys.stderr)
        return 2
    return await run_terminal(terminal)


@command("nodes")
async def nodes(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.redis.url:
        print("one node: no Redis configured (CITYHUB_REDIS_URL), the bus is in-process")
        return 0
    bus = create_bus(settings.redis.url, settings.redis.prefix, node_id=f"cli-{os.getpid()}")
    await bus.start()
    try:
        members = await bus.presence_members(NODES_GROUP)
    finally:
        await bus.stop()
    listed = sorted((NodeInfo.from_dict(v) for v in members.values()), key=lambda n: n.started_at)
    if args.json:
        print(json.dumps([n.to_dict() for n in listed], ensure_ascii=False, indent=2))
        return 0
    print(f"{'node':<28} {'signaling':<28} {'media':<16} {'sessions':>8}  state")
    for node in listed:
        state = "draining" if node.draining else "serving"
        sessions = int(node.load.get("sessions", 0))
        print(f"{node.id:<28} {node.signaling_url:<28} {node.media_address:<16} {sessions:>8}  {state}")
    return 0


@command("bot join")
async def bot_join(args: argparse.Namespace, settings: Settings) -> int:
    from signaling.client import run_bot

    url = args.url or settings.public_url.replace("http", "ws", 1) + "/ws"
    token = args.token or ""
    if not token and args.token_file:
        token = (await asyncio.to_thread(Path(args.token_file).read_text, encoding="utf-8")).strip()
    if not token:
        print("cityhub: bot join needs --token or --token-file", file=sys.stderr)
        return 2
    return await run_bot(url, token, args.meeting, seconds=args.seconds, media_file=args.media, name=args.name)


def parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    top = argparse.ArgumentParser(prog="cityhub", description="CityHub, a city government's collaboration hub")
    top.add_argument("--config", help="a TOML settings file (also CITYHUB_CONFIG)")
    sub = top.add_subparsers(dest="command", required=True)

    serve_p = sub.add_parser("serve", help="run the hub")
    serve_p.add_argument("--host")
    serve_p.add_argument("--port", type=int)
    serve_p.add_argument("--demo", action="store_true", help="demo mode: demo directory and sign-in page")
    serve_p.add_argument("--config", dest="serve_config", help="a TOML settings file")

    db_p = sub.add_parser("db", help="the database").add_subparsers(dest="action", required=True)
    db_p.add_parser("upgrade", help="create or migrate the schema")

    dir_p = sub.add_parser("directory", help="the unified directory").add_subparsers(dest="action", required=True)
    imp = dir_p.add_parser("import", help="import YAML, JSON or a folder with org_units.csv and people.csv")
    imp.add_argument("file")
    imp.add_argument("--prune", action="store_true", help="deactivate people missing from the file")
    exp = dir_p.add_parser("export", help="print the directory")
    exp.add_argument("--format", choices=("yaml", "json"), default="yaml")
    bind = dir_p.add_parser("bind-certificate", help="bind a client certificate (PEM or DER) to a person")
    bind.add_argument("--person", required=True)
    bind.add_argument("file")

    tok_p = sub.add_parser("token", help="tokens").add_subparsers(dest="action", required=True)
    issue = tok_p.add_parser("issue", help="issue a token for a directory person")
    issue.add_argument("--person", required=True)
    issue.add_argument("--ttl", type=int, help="seconds")
    issue.add_argument("--scope")
    revoke = tok_p.add_parser("revoke", help="revoke a token id (jti)")
    revoke.add_argument("jti")

    audit_p = sub.add_parser("audit", help="the supervision audit chain").add_subparsers(dest="action", required=True)
    verify_p = audit_p.add_parser(
        "verify", help="check the audit chain against its signed checkpoints (exit 1 and what is wrong if it fails)"
    )
    verify_p.add_argument("--checkpoints", action="append", default=[], metavar="FILE",
                          help="more checkpoints as JSON lines (a webhook receiver's records, grepped log lines)")
    verify_p.add_argument("--public-key", action="append", default=[], metavar="PEM",
                          help="a public key that verifies checkpoints (default: the key file's own)")
    audit_p.add_parser("public-key", help="print the public key of the audit checkpoints (PEM)")
    phone_p = sub.add_parser("phone", help="a district office's video phone terminal (events on stdout)")
    phone_p.add_argument("--url", required=True, help="the hub, e.g. https://hub.city.example")
    phone_p.add_argument("--token", help="the terminal's token (see `cityhub token issue`)")
    phone_p.add_argument("--token-file", help="a file holding the token (keeps it out of the process list)")
    phone_p.add_argument("--auto-answer", action="store_true", help="answer incoming calls by itself")
    phone_p.add_argument("--video", default="test-pattern", help="FILE to send, or test-pattern (default)")
    phone_p.add_argument("--dial", help="call this on start (extension, person id or unit:ID) and exit after")
    phone_p.add_argument("--label", default="terminal", help="how this device shows in presence")

    nodes_p = sub.add_parser("nodes", help="list the live hub nodes (from Redis)")
    nodes_p.add_argument("--json", action="store_true")
    bot_p = sub.add_parser("bot", help="a Python meeting participant").add_subparsers(dest="action", required=True)
    bot = bot_p.add_parser("join", help="join a meeting, publish a test pattern (or a file), count decoded frames")
    bot.add_argument("meeting", help="the meeting id")
    bot.add_argument("--url", help="the hub's /ws URL (default: from the public URL)")
    bot.add_argument("--token", help="a bearer token of the person the bot acts as")
    bot.add_argument("--token-file", help="read the token from this file (keeps it out of the process list)")
    bot.add_argument("--media", help="a media file to publish instead of the synthetic camera and tone")
    bot.add_argument("--seconds", type=float, help="leave after this many seconds (default: stay)")
    bot.add_argument("--name", default="bot")
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cityhub` console script."""
    args = parser().parse_args(argv)
    name = args.command if not getattr(args, "action", None) else f"{args.command} {args.action}"
    try:
        settings = load_settings(getattr(args, "serve_config", None) or args.config)
    except SettingsError as exc:
        print(f"cityhub: bad setting: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.server.log_level, json_lines=settings.server.log_json)
    try:
        return asyncio.run(COMMANDS[name](args, settings))
    except HubError as exc:
        print(f"cityhub: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except SettingsError as exc:
        print(f"cityhub: bad setting: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
