#!/usr/bin/env bash
# The PostgreSQL server the warehouse tests load into (tests/*/test_warehouse.py).
#   scripts/postgres.sh install   install Debian's server package if no server is installed
#   scripts/postgres.sh bindir    print the directory of initdb, pg_ctl and postgres (fails if none)
# Debian's package also creates the `postgres` system user, which the tests run the server as when
# they run as root (the server refuses root). Its own cluster is left alone: the tests make theirs.
set -euo pipefail

server_bindir() {
  local pg_ctl
  pg_ctl=$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1)
  [ -n "$pg_ctl" ] || pg_ctl=$(command -v pg_ctl || true)
  [ -n "$pg_ctl" ] && [ -x "$(dirname "$pg_ctl")/initdb" ] && dirname "$pg_ctl"
}

case "${1:-}" in
  install)
    if server_bindir > /dev/null; then
      exit 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
      echo "PostgreSQL server missing: run 'apt-get install postgresql' as root" >&2
      exit 1
    fi
    echo "Installing the PostgreSQL server (Debian package postgresql)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql > /dev/null
    server_bindir > /dev/null
    ;;
  bindir)
    server_bindir || { echo "no PostgreSQL server installed: run scripts/postgres.sh install" >&2; exit 1; }
    ;;
  *)
    echo "usage: $0 install|bindir" >&2
    exit 2
    ;;
esac
