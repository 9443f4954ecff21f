#!/usr/bin/env bash
# Daemon memory benchmark (`make bench`, issue 12 goal 2).
#
# Starts the real daemon (bin/jagad serve) on a throwaway data dir and a
# config with one PostgreSQL schedule (zstd + encryption → local), then:
#   - reads VmRSS of the idle daemon 10 s after "jagad ready", and VmHWM:
#     the peak of start-up, which includes the passphrase key's one Argon2id
#     (64 MiB; engine/crypt/FORMAT.md §3.5);
#   - resets VmHWM (`echo 5 > /proc/PID/clear_refs`, Linux ≥ 4.0), then runs
#     RSS_RUNS backups through the API (POST /api/schedules/{id}/run), one
#     after another, and reads VmHWM (the peak since the reset: the backups')
#     and VmRSS of the daemon from /proc/PID/status after each;
#   - reads VmRSS again 10 s after the last backup, and the daemon CPU-seconds
#     per backup (/proc/PID/stat), which the soft memory limit raises.
# Baselines from the same run: the idle figure, and the peak RSS of
# `pg_dump | zstd -1` on the same database (GNU time's max RSS of each).
#
# Environment:
#   BENCH_ROWS=500000   rows of bench_mixed (≈70 MB dump); 5000000 ≈ 730 MB
#   RSS_RUNS=10         backups in a row
#   JAGAD_BIN           the daemon (default: bin/jagad)
#   RSS_PORT=18098      the daemon's port on 127.0.0.1
#   RSS_IDLE=10         seconds to wait before each idle reading
#   BENCH_DIR           scratch dir (default: a temp dir, removed at exit)
#   RSS_PPROF=host:port serve the daemon's pprof there (JAGAD_BENCH_PPROF) and
#                       save a heap profile 1 s into each backup and after it
#                       as $BENCH_DIR/rss/heap-N-{during,after}.pb.gz
set -euo pipefail

ROWS=${BENCH_ROWS:-500000}
RUNS=${RSS_RUNS:-10}
PORT=${RSS_PORT:-18098}
IDLE=${RSS_IDLE:-10}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${JAGAD_BIN:-$ROOT/bin/jagad}
DB=bench_mixed_$ROWS
BASE_URL=http://127.0.0.1:$PORT

if [ -n "${BENCH_DIR:-}" ]; then WORK=$BENCH_DIR/rss; mkdir -p "$WORK"; else WORK=$(mktemp -d /tmp/jagad-rss.XXXXXX); fi
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [ -z "${BENCH_DIR:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

for t in psql pg_dump zstd curl jq /usr/bin/time; do
  command -v "$t" >/dev/null 2>&1 || { echo "rss: $t not found" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "rss: $BIN missing (make build)" >&2; exit 1; }

pgq() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"; }
if [ "$(pgq -d "$DB" -tAc 'SELECT count(*) FROM events' 2>/dev/null || true)" != "$ROWS" ]; then
  echo "rss: loading $ROWS rows into PostgreSQL $DB ..." >&2
  pgq -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
  pgq -d "$DB" -v rows="$ROWS" -f "$ROOT/engine/bench/dataset_pg.sql"
fi

# status FIELD: a field of /proc/PID/status in KiB.
status() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$PID/status"; }
# cpu: the daemon's user + system CPU-seconds so far (/proc/PID/stat).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$PID/stat"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Baseline: the dump tool's and zstd's own peak RSS on the same stream.
DUMP_RAW=$( { /usr/bin/time -f '%M' -o "$WORK/dump.time" pg_dump -h 127.0.0.1 -U postgres --format=custom --compress=0 \
  --dbname="$DB" | /usr/bin/time -f '%M' -o "$WORK/zstd.time" zstd -1 -q -c | wc -c; } )
DUMP_KIB=$(cat "$WORK/dump.time"); ZSTD_KIB=$(cat "$WORK/zstd.time")

mkdir -p "$WORK/data" "$WORK/backups"
cat >"$WORK/jagad.yaml" <<EOF
version: 1
settings: { timezone: UTC, compression: zstd }
encryption:
  active_key: k1
  keys: [{ id: k1, key: rss-bench-passphrase }]
storage:
  - { name: local, provider_type: local, path: $WORK/backups, is_default: true }
connections:
  - { name: pg, db_type: postgresql, host: 127.0.0.1, port: 5432, username: postgres, ssl_mode: disable, databases: [$DB] }
schedules:
  - name: rss
    connection: pg
    database: $DB
    cron_expr: "0 3 1 1 *"
    encryption_enabled: true
    verify_enabled: false
    retention_full: 3
EOF
JAGAD_BENCH_PPROF=${RSS_PPROF:-} JAGAD_DATA_DIR=$WORK/data JAGAD_ADMIN_PASS=rss-bench "$BIN" serve --config "$WORK/jagad.yaml" \
  --listen "127.0.0.1:$PORT" >"$WORK/jagad.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do grep -q 'jagad ready' "$WORK/jagad.log" && break; sleep 0.1; done
grep -q 'jagad ready' "$WORK/jagad.log" || { echo "rss: daemon did not start:" >&2; cat "$WORK/jagad.log" >&2; exit 1; }
START_KIB=$(status VmRSS)
sleep "$IDLE"
IDLE_KIB=$(status VmRSS)
START_HWM_KIB=$(status VmHWM)
# From here VmHWM is the backups' peak (when the kernel lets us reset it).
HWM_SINCE="since the reset after idle"
echo 5 2>/dev/null >"/proc/$PID/clear_refs" || HWM_SINCE="since start (reset refused)"
CPU0=$(cpu)

TOK=$(curl -sf -X POST "$BASE_URL/api/auth/login" -d '{"username":"admin","password":"rss-bench"}' | jq -r .token)
api() { curl -sf -H "Authorization: Bearer $TOK" "$@"; }
SCH=$(api "$BASE_URL/api/schedules" | jq -r '.[] | select(.name == "rss") | .id')

declare -a LINES=()
PEAK_MAX=0 PEAK_FIRST=
for i in $(seq 1 "$RUNS"); do
  before=$(api "$BASE_URL/api/backups?limit=1&schedule_id=$SCH" | jq -r '.[0].id // ""')
  t0=$(date +%s.%N)
  api -X POST "$BASE_URL/api/schedules/$SCH/run" >/dev/null
  st=
  if [ -n "${RSS_PPROF:-}" ]; then sleep 1; curl -sf -o "$WORK/heap-$i-during.pb.gz" "http://$RSS_PPROF/debug/pprof/heap" || true; fi
  while :; do
    read -r id st < <(api "$BASE_URL/api/backups?limit=1&schedule_id=$SCH" | jq -r '.[0] | "\(.id // "") \(.status // "")"')
    if [ "$id" != "$before" ] && { [ "$st" = success ] || [ "$st" = failed ]; }; then break; fi
    sleep 0.2
  done
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  [ "$st" = success ] || { echo "rss: backup $i $st" >&2; tail -20 "$WORK/jagad.log" >&2; exit 1; }
  hwm=$(status VmHWM) rss=$(status VmRSS)
  if [ -n "${RSS_PPROF:-}" ]; then curl -sf -o "$WORK/heap-$i-after.pb.gz" "http://$RSS_PPROF/debug/pprof/heap" || true; fi
  [ -n "${RSS_SMAPS:-}" ] && grep -E "^(RssAnon|RssFile)" "/proc/$PID/status" | tr -s " \t\n" " " >&2 && echo >&2
  [ -z "$PEAK_FIRST" ] && PEAK_FIRST=$hwm
  [ "$hwm" -gt "$PEAK_MAX" ] && PEAK_MAX=$hwm
  LINES+=("$(printf '| %3d | %6s | %10s | %10s |' "$i" "$secs" "$(mib "$hwm")" "$(mib "$rss")")")
done
CPU1=$(cpu)
sleep "$IDLE"
AFTER_KIB=$(status VmRSS)

echo
echo "## daemon RSS: $DB, dump $(awk -v r="$DUMP_RAW" 'BEGIN { printf "%.1f MB", r / 1e6 }') zstd -1, $RUNS backups (zstd + encryption → local)"
echo
echo "VmHWM: $HWM_SINCE"
echo
echo "| run | seconds | VmHWM MiB | VmRSS MiB |"
echo "|-----|---------|-----------|-----------|"
printf '%s\n' "${LINES[@]}"
echo
echo "| figure                                   |   MiB | baseline                        |"
echo "|------------------------------------------|-------|---------------------------------|"
printf '| %-40s | %5s | %-31s |\n' "daemon VmRSS at ready" "$(mib "$START_KIB")" ""
printf '| %-40s | %5s | %-31s |\n' "daemon VmRSS idle (${IDLE} s)" "$(mib "$IDLE_KIB")" "goal < 48"
printf '| %-40s | %5s | %-31s |\n' "daemon VmHWM of start-up (at idle)" "$(mib "$START_HWM_KIB")" "base + one Argon2id (64 MiB)"
printf '| %-40s | %5s | %-31s |\n' "daemon VmHWM after backup 1" "$(mib "$PEAK_FIRST")" "goal < 96"
printf '| %-40s | %5s | %-31s |\n' "daemon VmHWM after backup $RUNS" "$(mib "$PEAK_MAX")" "flat: $(awk -v a="$PEAK_MAX" -v b="$PEAK_FIRST" 'BEGIN { printf "%.2fx", a / b }') of backup 1"
printf '| %-40s | %5s | %-31s |\n' "daemon VmRSS idle ${IDLE} s after backups" "$(mib "$AFTER_KIB")" "$(awk -v a="$AFTER_KIB" -v b="$IDLE_KIB" 'BEGIN { printf "%.2fx", a / b }') of idle before"
printf '| %-40s | %5s | %-31s |\n' "daemon CPU-seconds per backup" "$(awk -v a="$CPU0" -v b="$CPU1" -v n="$RUNS" 'BEGIN { printf "%.2f", (b - a) / n }')" "(s, not MiB; GC cost of the limit)"
printf '| %-40s | %5s | %-31s |\n' "pg_dump's own max RSS (same dump)" "$(mib "$DUMP_KIB")" "baseline"
printf '| %-40s | %5s | %-31s |\n' "zstd -1's own max RSS (same stream)" "$(mib "$ZSTD_KIB")" "baseline"
printf '| %-40s | %5s | %-31s |\n' "daemon peak over idle" "$(mib $((PEAK_MAX - IDLE_KIB)))" "vs zstd -1: $(mib "$ZSTD_KIB")"
