#!/usr/bin/env bash
# Installs everything CityHub needs into ./.venv and builds the browser bundles.
#   scripts/setup.sh           Python packages (+ test tools with --test) and the browser assets
#   scripts/setup.sh --system  also Debian's chromium, redis-server and postgresql when missing (needs root/sudo),
#                              and promtool (the prometheus package) with --test
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0; want_system=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --system) want_system=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ "$want_system" = 1 ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v redis-server >/dev/null || missing+=(redis-server)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
  # the PDF engine (WeasyPrint) lays text out with pango
  ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
  # the tests check /metrics with Prometheus's own promtool
  if [ "$want_test" = 1 ] && ! command -v promtool >/dev/null; then missing+=(prometheus); fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "CityHub needs Python 3.11 or newer ($python is $("$python" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$python" -m venv .venv
fi
extras=""
[ "$want_test" = 1 ] && extras="[test]"
echo "== installing Python packages"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"

if ! command -v npm >/dev/null; then
  echo "== installing Node.js and npm (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
echo "== building the browser bundles"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build >/dev/null
