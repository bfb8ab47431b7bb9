#!/usr/bin/env bash
# Starts (creating it once) a second Postgres server process on this machine for the "tenant on its own server"
# tests: Debian's cluster tools, trust authentication on 127.0.0.1, port $1 (default 5488). Idempotent, and
# serialised by a lock so that test files starting at once create it only once. Needs root or the postgres user.
set -euo pipefail
port="${1:-5488}"
name="verdict_second_${port}"
version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
version="${version:-15}"
if pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null; then exit 0; fi
exec 9>"/tmp/${name}.lock"
flock 9
if pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null; then exit 0; fi
if ! pg_lsclusters --no-header 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$version $name"; then
  pg_createcluster "$version" "$name" --port "$port" -- --auth-host=trust --auth-local=trust >/dev/null 9>&-
fi
# The server outlives this script: it must not inherit the lock (fd 9) nor the caller's output pipes.
pg_ctlcluster --skip-systemctl-redirect "$version" "$name" start </dev/null >/dev/null 2>&1 9>&-
for _ in $(seq 1 60); do pg_isready -h 127.0.0.1 -p "$port" -q && exit 0; sleep 0.5; done
echo "the second Postgres server on port $port did not start" >&2
exit 1
