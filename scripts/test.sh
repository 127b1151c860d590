#!/usr/bin/env bash
# Installs everything (Python and npm packages; Debian's chromium, redis-server, postgresql and promtool when missing),
# starts PostgreSQL and Redis when they are down, then runs the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test --system
scripts/services.sh
exec .venv/bin/python -m pytest "$@"
