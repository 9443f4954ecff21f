#!/usr/bin/env bash
# Makes sure the tools and servers that `make test` needs are on this machine:
# PostgreSQL and MariaDB (server and client tools), promtool, and versitygw
# (a real S3 server). Installs with apt (as root) and starts what is missing.
set -euo pipefail

need_apt=()
command -v pg_dump >/dev/null 2>&1 || need_apt+=(postgresql postgresql-client)
command -v mariadb-dump >/dev/null 2>&1 || need_apt+=(mariadb-server mariadb-client)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "services: missing ${need_apt[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "services: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "services: starting PostgreSQL"
  ver=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

# MariaDB on 127.0.0.1:3306.
if ! mariadb-admin --no-defaults -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
  echo "services: starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  for _ in $(seq 1 30); do
    mariadb-admin --no-defaults -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 && break; sleep 1
  done
fi

# versitygw: a real S3 server that checks signatures, pinned in .ci/tools.
bin="$(cd "$(dirname "$0")/.." && pwd)/.bin"
if [ ! -x "$bin/versitygw" ]; then
  echo "services: building versitygw (pinned in .ci/tools/go.mod; ~2 min on a cold cache)"
  mkdir -p "$bin"
  (cd "$(dirname "$0")/tools" && GOBIN="$bin" go install github.com/versity/versitygw/cmd/versitygw)
fi
echo "services: ready"
