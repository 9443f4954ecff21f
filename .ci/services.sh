#!/usr/bin/env bash
# Makes sure the tools and servers that `make test` needs are on this machine:
# PostgreSQL and MariaDB (server and client tools), promtool, chromium, and versitygw
# (a real S3 server). Installs with apt (as root) and starts what is missing.
set -euo pipefail

need_apt=()
command -v pg_dump >/dev/null 2>&1 || need_apt+=(postgresql postgresql-client)
command -v mariadb-dump >/dev/null 2>&1 || need_apt+=(mariadb-server mariadb-client)
# mariadb-backup and mbstream for physical backups and chains (engine/mariaphys).
command -v mariadb-backup >/dev/null 2>&1 || need_apt+=(mariadb-backup)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
# Debian's chromium for the dashboard's browser tests (cmd/jagad/dashboard_test.go).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# curl and jq run README's examples (cmd/jagad/readme_test.go).
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
# zstd: engine/objfmt's interop test decodes Jagad's frames with the command line.
command -v zstd >/dev/null 2>&1 || need_apt+=(zstd)
# etcd for the cluster tests (engine/cluster/etcdtest starts its own on loopback).
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
# The packaging tests (examples/): systemd-analyze verifies the unit; git and
# wget are in the container image, and dpkg must know which package ships them.
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
command -v git >/dev/null 2>&1 || need_apt+=(git)
command -v wget >/dev/null 2>&1 || need_apt+=(wget)
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
# examples/dockerfile_test.go asks apt-cache for the image packages' dependencies.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "services: apt-get update (package lists for the packaging tests)"
  apt-get update -qq
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

# The tests connect as password-less postgres and root over TCP on
# 127.0.0.1 (see engine/dbtest, cmd/jagad/daemon_test.go, api/dbservers_test.go).
# A stock Debian install does not allow that (pg_hba: peer/scram; MariaDB root:
# unix_socket), so grant it here, only when the password-less connection fails.
# This opens the local servers to every local user: it is for CI and test
# machines, not for a server with data that matters.
is_root() { [ "$(id -u)" = 0 ]; }
pg_ok() { psql -X -w -q -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; }
my_ok() { mariadb --no-defaults -h 127.0.0.1 -P 3306 -u root -e 'select 1' >/dev/null 2>&1; }

# pg_trust_loopback HBA_FILE: puts trust lines for 127.0.0.1 and ::1 first
# (the first matching line wins), once.
pg_trust_loopback() {
  local hba=$1 mark='# jagad .ci/services.sh: password-less TCP from loopback for the tests'
  grep -qxF "$mark" "$hba" && return 0
  cp -p "$hba" "$hba.jagad-orig"
  { printf '%s\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n\n' "$mark"; cat "$hba.jagad-orig"; } >"$hba"
}

if ! pg_ok; then
  if is_root; then
    # The server knows its own pg_hba.conf; the postgres OS user gets in
    # through the socket by peer authentication on a stock install.
    hba=$(runuser -u postgres -- psql -X -Atc 'show hba_file' 2>/dev/null || true)
    if [ -z "$hba" ]; then
      ver=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
      hba=/etc/postgresql/$ver/main/pg_hba.conf
    fi
    echo "services: PostgreSQL refuses password-less postgres on 127.0.0.1; trusting loopback in $hba"
    pg_trust_loopback "$hba"
    runuser -u postgres -- psql -X -q -Atc 'select pg_reload_conf()' >/dev/null
    for _ in $(seq 1 10); do pg_ok && break; sleep 0.5; done
  fi
  pg_ok || echo "services: warning: psql -h 127.0.0.1 -U postgres still fails; the tests that use this server will fail under CI=true" >&2
fi

if ! my_ok; then
  # Debian's root@localhost uses unix_socket: keep it, add an empty password
  # for TCP, and a root@127.0.0.1 for servers that skip name resolution.
  if is_root && mariadb --no-defaults -u root -e 'select 1' >/dev/null 2>&1; then
    echo "services: MariaDB refuses password-less root on 127.0.0.1; allowing it"
    mariadb --no-defaults -u root <<'SQL'
ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
CREATE USER IF NOT EXISTS root@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
GRANT ALL PRIVILEGES ON *.* TO root@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS root@'::1' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
GRANT ALL PRIVILEGES ON *.* TO root@'::1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
  fi
  my_ok || echo "services: warning: mariadb -h 127.0.0.1 -u root still fails; the tests that use this server will fail under CI=true" >&2
fi

# versitygw: a real S3 server that checks signatures, pinned in .ci/tools.
bin="$(cd "$(dirname "$0")/.." && pwd)/.bin"
if [ ! -x "$bin/versitygw" ]; then
  echo "services: building versitygw (pinned in .ci/tools/go.mod; ~2 min on a cold cache)"
  mkdir -p "$bin"
  (cd "$(dirname "$0")/tools" && GOBIN="$bin" go install github.com/versity/versitygw/cmd/versitygw)
fi
echo "services: ready"
