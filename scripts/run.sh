#!/usr/bin/env bash
# Installs everything, then runs CityHub on its embedded defaults (SQLite under ./var, in-process bus) with the
# demo directory loaded. Open the URL it prints and pick a demo person.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/cityhub serve --demo "$@"
