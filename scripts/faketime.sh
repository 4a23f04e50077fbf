#!/usr/bin/env bash
# libfaketime, which tests/orchestrate/test_resume.py preloads into target-postgres to run its clock
# 60 times faster: a run of seconds then lives through the 5-minute drains of a long one.
#   scripts/faketime.sh install   install Debian's libfaketime package if it is missing
#   scripts/faketime.sh lib       print the path of libfaketime.so.1 (fails if none)
set -euo pipefail

library() {
  local found
  found=$(ls /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
  [ -n "$found" ] && echo "$found"
}

case "${1:-}" in
  install)
    if library > /dev/null; then
      exit 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
      echo "libfaketime missing: run 'apt-get install libfaketime' as root" >&2
      exit 1
    fi
    echo "Installing libfaketime (Debian package libfaketime)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libfaketime > /dev/null
    library > /dev/null
    ;;
  lib)
    library || { echo "no libfaketime installed: run scripts/faketime.sh install" >&2; exit 1; }
    ;;
  *)
    echo "usage: $0 install|lib" >&2
    exit 2
    ;;
esac
