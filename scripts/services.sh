#!/usr/bin/env bash
# Starts the PostgreSQL and Redis the integration tests use (127.0.0.1:5432 database `test`, 127.0.0.1:6379) when down.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "== starting redis-server"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "== starting postgresql"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi

for _ in $(seq 1 30); do
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.5
done
# Not up after 15 s: say which, and stop here (the tests would otherwise skip or fail far from the cause).
down=""
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || down="$down Redis (127.0.0.1:6379, see /var/log/redis/ci.log)"
pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || down="$down PostgreSQL (127.0.0.1:5432)"
if [ -n "$down" ]; then
  echo "services.sh: not running after 15 s:$down" >&2
  exit 1
fi

# A fresh Debian PostgreSQL asks for passwords on TCP: the tests connect as postgres over loopback with trust.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  echo "== allowing trust for postgres on loopback in $hba"
  as_root sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  sleep 1
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc "select 1 from pg_database where datname = 'test'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test'
fi
