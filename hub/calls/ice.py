"""ICE servers for a call, with TURN credentials that expire (coturn `use-auth-secret`, the TURN REST API).

coturn checks `username = "<expiry unix time>:<user>"` and `password = base64(HMAC-SHA1(secret, username))`,
and refuses the pair once the expiry has passed. The shared secret never leaves the hub.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from hub.settings import IceSettings


def turn_credentials(secret: str, user: str, ttl: int, now: float) -> tuple[str, str]:
    """A (username, password) pair valid for ttl seconds from now."""
    username = f"{int(now) + ttl}:{user}"
    return username, _password(secret, username)


def verify_turn_credentials(secret: str, username: str, password: str, now: float) -> bool:
    """What coturn does with a pair: the expiry has not passed and the password is the HMAC of the username."""
    expiry, sep, _user = username.partition(":")
    if not sep or not expiry.isdigit() or int(expiry) < now:
        return False
    return hmac.compare_digest(_password(secret, username), password)


def _password(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def ice_servers(settings: IceSettings, user: str, now: float) -> list[dict[str, Any]]:
    """RTCIceServer dicts for one client: STUN as is, TURN with fresh credentials (or left out without a secret)."""
    stun = [url for url in settings.servers if url.startswith(("stun:", "stuns:"))]
    turn = [url for url in settings.servers if url.startswith(("turn:", "turns:"))]
    servers: list[dict[str, Any]] = []
    if stun:
        servers.append({"urls": stun})
    if turn and settings.turn_secret:
        username, credential = turn_credentials(settings.turn_secret, user, settings.turn_ttl, now)
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers
