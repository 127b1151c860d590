"""The test set-up fails loudly: services.sh stops with a message when Redis or PostgreSQL does not come up, and
CI runs with CI=true, so a test whose service is missing fails instead of skipping."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def stub(folder: Path, name: str, status: int) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\nexit {status}\n")
    path.chmod(0o755)


def test_services_sh_fails_when_a_service_stays_down(tmp_path: Path) -> None:
    # redis-cli and pg_isready never answer; starting them "works"; no real waiting
    for name, status in (("redis-cli", 1), ("pg_isready", 1), ("redis-server", 0), ("pg_ctlcluster", 0),
                         ("sleep", 0), ("sudo", 0)):
        stub(tmp_path, name, status)
    run = subprocess.run([str(ROOT / "scripts" / "services.sh")], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"})
    assert run.returncode != 0
    assert "not running after 15 s: Redis" in run.stderr and "PostgreSQL" in run.stderr


def test_ci_runs_with_ci_true() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "export CI=true" in script and script.index("export CI=true") < script.index("scripts/test.sh")
