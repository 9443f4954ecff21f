#!/usr/bin/env bash
# Backup throughput benchmark (`make bench`).
#
# Builds a realistic table in PostgreSQL (127.0.0.1:5432, user postgres) and
# MariaDB (127.0.0.1:3306, user root), then times, on the same database:
#   (a) the dump tool alone, to /dev/null                 — the limit
#   (b) the dump tool | zstd -1 > file
#   (c) the dump tool | gzip -1 > file
#   (d) Jagad backups through the engine (engine/bench): zstd, zstd+encryption,
#       gzip to local, and zstd+encryption to versitygw
# and prints every row as a ratio to (a), with the Jagad process's peak RSS
# and CPU-seconds (getrusage of the process itself, not the dump tool), next
# to the CPU-seconds of `zstd -1` alone on the same stream in (b) (GNU time of
# the zstd process; the smallest of BENCH_REPEAT runs of each).
#
# Then issue 12 goal 1 (CPU per byte), interleaved: BENCH_REPEAT rounds of
#   dump | zstd -1 > file                  (wall time; CPU-seconds of zstd alone)
#   Jagad zstd+encryption → local, libzstd (the cgo build, as shipped)
#   Jagad zstd+encryption → local, pure Go (the same code built CGO_ENABLED=0)
# with the medians, Jagad's CPU-seconds ÷ zstd's (goal ≤ 1.15) and Jagad's wall
# ÷ the zstd pipeline's (goal ≤ 1.10), for both encoders, from the same rounds.
#
# Environment:
#   BENCH_ROWS=500000     rows (≈70 MB PostgreSQL dump); 5000000 ≈ 730 MB
#   BENCH_DBS="pg mariadb" which databases to run
#   BENCH_REPEAT=1        runs per case; the fastest counts (goal 1: the median)
#   BENCH_CASES=all       all: the table and goal 1; cpu: goal 1 only
#   BENCH_PROFILE=1       write CPU profiles of the Jagad runs to $BENCH_DIR
#   BENCH_DIR             scratch dir (default: a temp dir, removed at exit)
#   BENCH_S3_PORT=17070   port for versitygw on 127.0.0.1
set -euo pipefail

ROWS=${BENCH_ROWS:-500000}
DBS=${BENCH_DBS:-pg mariadb}
REPEAT=${BENCH_REPEAT:-1}
CASES=${BENCH_CASES:-all}
PORT=${BENCH_S3_PORT:-17070}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$ROOT/.bin:$PATH"

if [ -n "${BENCH_DIR:-}" ]; then
  WORK=$BENCH_DIR
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d /tmp/jagad-bench.XXXXXX)
fi
VERSITY_PID=
cleanup() {
  if [ -n "$VERSITY_PID" ]; then kill "$VERSITY_PID" 2>/dev/null || true; wait "$VERSITY_PID" 2>/dev/null || true; fi
  if [ -z "${BENCH_DIR:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need zstd; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zstd >/dev/null
  else
    echo "bench: zstd is missing (apt-get install zstd)" >&2; exit 1
  fi
fi
for t in psql pg_dump mariadb mariadb-dump gzip versitygw go; do
  need "$t" || { echo "bench: $t not found (run make services)" >&2; exit 1; }
done

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# ---------- datasets ----------
pgq() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"; }
myq() { mariadb --no-defaults -h 127.0.0.1 -P 3306 -u root "$@"; }

setup_pg() {
  local db=$1
  if [ "$(pgq -d "$db" -tAc 'SELECT count(*) FROM events' 2>/dev/null || true)" = "$ROWS" ]; then return; fi
  echo "bench: loading $ROWS rows into PostgreSQL $db ..." >&2
  pgq -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  pgq -d "$db" -v rows="$ROWS" -f "$ROOT/engine/bench/dataset_pg.sql"
}

# The same shape for MariaDB: 3..11 random words from the same 50.
setup_mariadb() {
  local db=$1 words word i
  if [ "$(myq -N -e "SELECT count(*) FROM \`$db\`.events" 2>/dev/null || true)" = "$ROWS" ]; then return; fi
  echo "bench: loading $ROWS rows into MariaDB $db ..." >&2
  words="'alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india','juliet','kilo','lima','mike',\
'november','oscar','papa','quebec','romeo','sierra','tango','uniform','victor','whiskey','xray','yankee','zulu',\
'order','invoice','customer','shipment','warehouse','payment','refund','account','ledger','balance','transfer',\
'report','pending','approved','rejected','urgent','routine','north','south','east','west','central','backup','restore'"
  word="ELT(1 + FLOOR(RAND() * 50), $words)"
  local note="$word"
  for i in $(seq 2 11); do note="$note, $word"; done
  myq <<SQL
DROP DATABASE IF EXISTS \`$db\`;
CREATE DATABASE \`$db\` CHARACTER SET utf8mb4;
USE \`$db\`;
CREATE TABLE events (
  id         bigint        PRIMARY KEY,
  created_at datetime(6)   NOT NULL,
  qty        int           NOT NULL,
  digest     char(32)      NOT NULL,
  amount     decimal(12,2) NOT NULL,
  status     varchar(16)   NOT NULL,
  note       text          NOT NULL
) ENGINE=InnoDB;
INSERT INTO events
SELECT seq,
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL FLOOR(RAND() * 365 * 86400 * 1000000) MICROSECOND,
       FLOOR(RAND() * 100000),
       MD5(CONCAT(seq, RAND())),
       ROUND(RAND() * 100000, 2),
       ELT(1 + FLOOR(RAND() * 6), 'new','pending','paid','shipped','cancelled','refunded'),
       SUBSTRING_INDEX(CONCAT_WS(' ', $note), ' ', 3 + seq % 9)
FROM seq_1_to_$ROWS;
ANALYZE TABLE events;
SQL
}

# ---------- versitygw ----------
start_versity() {
  mkdir -p "$WORK/versity"
  ROOT_ACCESS_KEY_ID=benchaccess ROOT_SECRET_ACCESS_KEY=bench-secret-key \
    versitygw --port "127.0.0.1:$PORT" posix "$WORK/versity" >"$WORK/versity.log" 2>&1 &
  VERSITY_PID=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return; fi
    sleep 0.1
  done
  echo "bench: versitygw did not start:" >&2; cat "$WORK/versity.log" >&2; exit 1
}

# ---------- runs ----------
declare -a ROWS_OUT=()
BASE=

# record NAME SECONDS STORED_BYTES RAW_BYTES PEAK_KIB [CPU_SECONDS]
record() {
  local name=$1 secs=$2 stored=$3 raw=$4 peak=$5 cpu=${6:-}
  if [ -z "$BASE" ]; then BASE=$secs; fi
  ROWS_OUT+=("$(awk -v n="$name" -v s="$secs" -v b="$BASE" -v st="$stored" -v r="$raw" -v p="$peak" -v c="$cpu" 'BEGIN {
    mbs = (r > 0 && s > 0) ? sprintf("%.0f", r / s / 1e6) : "-";
    sto = (st > 0) ? sprintf("%.1f", st / 1e6) : "-";
    rss = (p > 0) ? sprintf("%.0f", p / 1024) : "-";
    cpu = (c != "") ? sprintf("%.2f", c) : "-";
    printf "| %-42s | %8.2f | %6.2fx | %6s | %9s | %8s | %6s |", n, s, s / b, mbs, sto, rss, cpu }')")
}

# zstd_cpu CMD: run the dump into `zstd -1` REPEAT times, print the smallest
# CPU-seconds (user + system) of the zstd process.
zstd_cpu() {
  local best= i s
  for i in $(seq 1 "$REPEAT"); do
    bash -o pipefail -c "$1 | /usr/bin/time -f '%U %S' -o $WORK/zstd.cpu zstd -1 -q > $WORK/b.zst"
    s=$(awk '{ printf "%.2f", $1 + $2 }' "$WORK/zstd.cpu")
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
  done
  echo "$best"
}

# best_of CMD...: run a shell pipeline REPEAT times, print the fastest seconds.
best_of() {
  local best= i t0 t1 s
  for i in $(seq 1 "$REPEAT"); do
    t0=$(now); bash -o pipefail -c "$1"; t1=$(now)
    s=$(elapsed "$t0" "$t1")
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
  done
  echo "$best"
}

# jagad NAME ARGS...: run the engine benchmark REPEAT times, record the fastest.
jagad() {
  local name=$1; shift
  local best= line i out secs cpu bestcpu=
  for i in $(seq 1 "$REPEAT"); do
    rm -rf "$WORK/local" && mkdir -p "$WORK/local"
    local prof=()
    if [ -n "${BENCH_PROFILE:-}" ]; then prof=(-cpuprofile "$WORK/$(echo "$name" | tr -c 'a-z0-9\n' '_').prof"); fi
    out=$("$WORK/jagad-bench-cgo" "$@" "${prof[@]}")
    secs=$(sed -n 's/^seconds=\([0-9.]*\).*/\1/p' <<<"$out")
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; line=$out; fi
    cpu=$(sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p' <<<"$out")
    if [ -z "$bestcpu" ] || awk -v a="$cpu" -v b="$bestcpu" 'BEGIN { exit !(a < b) }'; then bestcpu=$cpu; fi
  done
  field() { sed -n "s/.*$1=\([0-9.-]*\).*/\1/p" <<<"$line"; }
  record "$name" "$best" "$(field stored_bytes)" "$(field raw_bytes)" "$(field peak_rss_kib)" "$bestcpu"
  PEAKS+=("$name: $(field peak_rss_kib) KiB")
  if [[ $name == *"zstd + encryption → local"* ]]; then ZSTD_ENC=$best; ZSTD_ENC_CPU=$bestcpu; fi
  LAST=$best; LAST_PEAK=$(field peak_rss_kib)
}

# median N...: the median of numbers.
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# cpu_goal DUMPCMD BENCHARGS...: issue 12 goal 1, REPEAT interleaved rounds of
# dump | zstd -1, Jagad with libzstd and Jagad with the pure-Go encoder (the
# two Jagad runs swap places every other round).
cpu_goal() {
  local dumpcmd=$1; shift
  local -a zw=() zc=() cgow=() cgoc=() gow=() goc=()
  local i t0 t1 out enc order prof
  for i in $(seq 1 "$REPEAT"); do
    t0=$(now)
    bash -o pipefail -c "$dumpcmd | /usr/bin/time -f '%U %S' -o $WORK/zstd.cpu zstd -1 -q > $WORK/b.zst"
    t1=$(now)
    zw+=("$(elapsed "$t0" "$t1")"); zc+=("$(awk '{ printf "%.3f", $1 + $2 }' "$WORK/zstd.cpu")")
    order="cgo purego"; if [ $((i % 2)) = 0 ]; then order="purego cgo"; fi
    for enc in $order; do
      rm -rf "$WORK/local" && mkdir -p "$WORK/local"
      prof=()
      if [ -n "${BENCH_PROFILE:-}" ]; then prof=(-cpuprofile "$WORK/goal1_${KIND}_${enc}_$i.prof"); fi
      out=$("$WORK/jagad-bench-$enc" "$@" -compression zstd -encrypt -target local -dir "$WORK/local" "${prof[@]}")
      if [ "$enc" = cgo ]; then
        cgow+=("$(sed -n 's/^seconds=\([0-9.]*\).*/\1/p' <<<"$out")"); cgoc+=("$(sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p' <<<"$out")")
      else
        gow+=("$(sed -n 's/^seconds=\([0-9.]*\).*/\1/p' <<<"$out")"); goc+=("$(sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p' <<<"$out")")
      fi
      echo "bench: goal 1 round $i $enc: $out" >&2
    done
  done
  rm -f "$WORK/b.zst"
  local mzw mzc
  mzw=$(median "${zw[@]}"); mzc=$(median "${zc[@]}")
  echo
  echo "### goal 1 — CPU per byte: $REPEAT interleaved rounds, medians (every round in brackets), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| case | wall s | CPU s | wall ÷ zstd pipeline | CPU ÷ zstd -1 |"
  echo "|---|---|---|---|---|"
  printf '| dump \\| zstd -1 > file (CPU: zstd alone) | %.2f [%s] | %.2f [%s] | 1.00 | 1.00 |\n' "$mzw" "${zw[*]}" "$mzc" "${zc[*]}"
  local name w c mw mc
  for enc in cgo purego; do
    if [ "$enc" = cgo ]; then name="jagad zstd+enc → local, libzstd (cgo)"; w="${cgow[*]}"; c="${cgoc[*]}"
    else name="jagad zstd+enc → local, pure Go (CGO_ENABLED=0)"; w="${gow[*]}"; c="${goc[*]}"; fi
    # shellcheck disable=SC2086
    mw=$(median $w); mc=$(median $c)
    awk -v n="$name" -v mw="$mw" -v mc="$mc" -v w="$w" -v c="$c" -v zw="$mzw" -v zc="$mzc" 'BEGIN {
      printf "| %s | %.2f [%s] | %.2f [%s] | %.2fx | %.2fx |\n", n, mw, w, mc, c, mw / zw, mc / zc }'
    if [ "$enc" = cgo ]; then GOAL_W=$mw; GOAL_C=$mc; fi
  done
  echo
  awk -v j="$GOAL_C" -v z="$mzc" -v jw="$GOAL_W" -v zw="$mzw" 'BEGIN {
    printf "goal: CPU-seconds, jagad zstd+encryption → local (libzstd) %.2f vs zstd -1 alone on the same stream %.2f: %.2fx (≤ 1.15: %s)\n",
      j, z, j / z, (j <= 1.15 * z ? "met" : "MISSED");
    printf "goal: wall, jagad zstd+encryption → local (libzstd) %.2fs vs dump | zstd -1 > file %.2fs: %.2fx (≤ 1.10: %s)\n",
      jw, zw, jw / zw, (jw <= 1.10 * zw ? "met" : "MISSED") }'
}

declare -a PEAKS=()
ZSTD_ENC= ZSTD_ENC_CPU=
KIND=
LAST=
LAST_PEAK=
bench_db() {
  local kind=$1 db dumpcmd raw
  ROWS_OUT=(); BASE=; PEAKS=(); ZSTD_ENC=; ZSTD_ENC_CPU=
  local common=()
  if [ "$kind" = pg ]; then
    db=bench_mixed_$ROWS
    setup_pg "$db"
    # The same program Jagad runs: on Debian /usr/bin/pg_dump is pg_wrapper,
    # a Perl script (~0.1 s per start) Jagad skips (engine/dump/pgwrapper.go).
    local pgdump=pg_dump
    if [ "$(basename "$(readlink -f "$(command -v pg_dump)")")" = pg_wrapper ]; then
      pgdump=$(ls -d /usr/lib/postgresql/*/bin/pg_dump 2>/dev/null | sort -t/ -k5 -n | tail -1)
    fi
    dumpcmd="$pgdump -h 127.0.0.1 -U postgres --format=custom --compress=0 --dbname=$db"
    common=(-db-type postgresql -user postgres -port 5432 -database "$db")
  else
    db=bench_mixed_$ROWS
    setup_mariadb "$db"
    dumpcmd="mariadb-dump --no-defaults -h 127.0.0.1 -P 3306 -u root --single-transaction --routines --triggers --events --default-character-set=utf8mb4 --max-allowed-packet=1G $db"
    common=(-db-type mariadb -user root -port 3306 -database "$db")
  fi
  raw=$(bash -o pipefail -c "$dumpcmd | wc -c")   # also warms the cache
  KIND=$kind
  if [ "$CASES" = cpu ]; then
    echo
    echo "## $kind: $db, $ROWS rows, dump $(awk -v r="$raw" 'BEGIN { printf "%.1f MB", r / 1e6 }')"
    cpu_goal "$dumpcmd" "${common[@]}"
    return
  fi
  local a b c zcpu
  a=$(best_of "$dumpcmd > /dev/null");            record "(a) ${dumpcmd%% *} > /dev/null" "$a" 0 "$raw" 0
  b=$(best_of "$dumpcmd | zstd -1 -q > $WORK/b.zst")
  zcpu=$(zstd_cpu "$dumpcmd");                     record "(b) dump, zstd -1 > file" "$b" "$(stat -c %s "$WORK/b.zst")" "$raw" 0 "$zcpu"
  c=$(best_of "$dumpcmd | gzip -1 > $WORK/c.gz");  record "(c) dump, gzip -1 > file" "$c" "$(stat -c %s "$WORK/c.gz")" "$raw" 0
  rm -f "$WORK/b.zst" "$WORK/c.gz"
  jagad "(d) jagad zstd → local" "${common[@]}" -compression zstd -target local -dir "$WORK/local"
  jagad "(d) jagad zstd + encryption → local" "${common[@]}" -compression zstd -encrypt -target local -dir "$WORK/local"
  jagad "(d) jagad gzip → local" "${common[@]}" -compression gzip -target local -dir "$WORK/local"
  BENCH_S3_SECRET=bench-secret-key jagad "(d) jagad zstd + encryption → versitygw" "${common[@]}" -compression zstd -encrypt \
    -target s3 -s3-endpoint "http://127.0.0.1:$PORT" -s3-access-key benchaccess -s3-bucket "jb-$kind-$RANDOM" -s3-create-bucket
  local one_s3=$LAST
  # (e) several destinations (copies_to): one pass, N uploads, in the same run.
  jagad "(e) zstd+enc → 2 × local (copies_to)" "${common[@]}" -compression zstd -encrypt -target local -dir "$WORK/local" -copy-local 1
  local two_local=$LAST
  BENCH_S3_SECRET=bench-secret-key jagad "(e) zstd+enc → local + versitygw" "${common[@]}" -compression zstd -encrypt \
    -target local -dir "$WORK/local" -copy-s3 -s3-endpoint "http://127.0.0.1:$PORT" -s3-access-key benchaccess \
    -s3-bucket "jc-$kind-$RANDOM" -s3-create-bucket
  local local_s3=$LAST
  BENCH_S3_SECRET=bench-secret-key jagad "(e) zstd+enc → 2 × local + versitygw" "${common[@]}" -compression zstd -encrypt \
    -target local -dir "$WORK/local" -copy-local 1 -copy-s3 -s3-endpoint "http://127.0.0.1:$PORT" -s3-access-key benchaccess \
    -s3-bucket "jd-$kind-$RANDOM" -s3-create-bucket
  local three_peak=$LAST_PEAK
  rm -rf "$WORK/versity/"j[bcd]-* 2>/dev/null || true

  echo
  echo "## $kind: $db, $ROWS rows, dump $(awk -v r="$raw" 'BEGIN { printf "%.1f MB", r / 1e6 }') (best of $REPEAT)"
  echo
  echo "| case                                       |  seconds |  vs (a) |   MB/s |  stored MB | RSS MiB |  CPU s |"
  echo "|--------------------------------------------|----------|---------|--------|-----------|---------|--------|"
  printf '%s\n' "${ROWS_OUT[@]}"
  echo
  awk -v z="$ZSTD_ENC" -v a="$a" -v b="$b" 'BEGIN {
    printf "goal: zstd+encryption → local %.2fs vs (b) %.2fs: %s; vs 1.5×(a) %.2fs: %s\n",
      z, b, (z <= b ? "met" : "MISSED"), 1.5 * a, (z <= 1.5 * a ? "met" : "MISSED") }'
  local p max=0
  for p in "${PEAKS[@]}"; do
    p=${p##*: }; p=${p% KiB}
    if [ "$p" -gt "$max" ]; then max=$p; fi
  done
  awk -v m="$max" 'BEGIN { printf "goal: peak RSS %.0f MiB < 128 MiB: %s\n", m / 1024, (m < 131072 ? "met" : "MISSED") }'
  awk -v two="$two_local" -v one="$ZSTD_ENC" -v ls="$local_s3" -v s3="$one_s3" -v p="$three_peak" 'BEGIN {
    r = two / one; printf "goal: 2 × local %.2fs vs local %.2fs = %.2f× ≤ 1.15×: %s\n", two, one, r, (r <= 1.15 ? "met" : "MISSED");
    slow = (s3 > one) ? s3 : one; r = ls / slow
    printf "goal: local + versitygw %.2fs vs the slower single destination %.2fs = %.2f× ≤ 1.15×: %s\n", ls, slow, r, (r <= 1.15 ? "met" : "MISSED");
    printf "goal: peak RSS with three destinations %.0f MiB < 128 MiB: %s\n", p / 1024, (p < 131072 ? "met" : "MISSED") }'
  cpu_goal "$dumpcmd" "${common[@]}"
}

echo "bench: building engine/bench ..." >&2
# Two builds of the same code: with cgo (libzstd, as shipped) and without
# (the pure-Go zstd encoder), for goal 1's side-by-side rounds.
# CGO_ENABLED=1 is explicit: without a C compiler Go would quietly build pure Go.
(cd "$ROOT" && CGO_ENABLED=1 go build -o "$WORK/jagad-bench-cgo" ./engine/bench &&
  CGO_ENABLED=0 go build -o "$WORK/jagad-bench-purego" ./engine/bench)
start_versity
echo "# Jagad backup benchmark — $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in $DBS; do bench_db "$kind"; done
