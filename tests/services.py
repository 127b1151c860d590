"""Real PostgreSQL and Redis for tests: reachable or not, and in CI a missing one fails instead of skipping."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import asyncpg
import pytest
import redis

from bench.cluster import LOCAL_PG_DSN, LOCAL_REDIS_URL, create_database, drop_database, free_port

__all__ = ["PG_DSN", "REDIS_URL", "ThrowawayRedis", "create_pg_database", "drop_pg_database", "free_port",
           "missing", "redis_available"]

PG_DSN = os.environ.get("TEST_PG_DSN", LOCAL_PG_DSN)
REDIS_URL = os.environ.get("TEST_REDIS_URL", LOCAL_REDIS_URL)


def missing(service: str, error: BaseException) -> None:
    """Fail in CI (CI=true), skip on a developer's machine."""
    message = f"{service} is not reachable: {error}"
    pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


def redis_available() -> None:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        missing("Redis", exc)


def create_pg_database() -> str:
    """A new, randomly named PostgreSQL database; returns its SQLAlchemy URL."""
    try:
        return create_database(PG_DSN)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        missing("PostgreSQL", exc)
        raise


def drop_pg_database(url: str) -> None:
    drop_database(url, PG_DSN)


class ThrowawayRedis:
    """A redis-server of this test alone, on a free port, that the test stops and starts at will."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=2)
        try:
            for _ in range(100):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self.process.poll() is not None:
                        raise RuntimeError(f"redis-server on port {self.port} exited") from None
                    time.sleep(0.05)
            raise RuntimeError(f"redis-server on port {self.port} did not answer")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
