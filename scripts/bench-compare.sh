#!/usr/bin/env bash
# Side-by-side load test: pointcast and nginx+nchan, same scenarios, one table.
#
# Servers are pinned to core 0 and the load generator to core 1, so neither
# steals the other's CPU. All traffic stays on 127.0.0.0/8. Everything started
# here is stopped on exit (trap), whatever happens.
#
# usage: scripts/bench-compare.sh [--quick] [--only pointcast|nchan] [--repeat 3]
#          [--idle "1000 10000"] [--fanout "1000 10000"] [--poll-fanout "1000"]
#          [--unicast "10000"] [--rates "1000 5000"] [--grant-rate 1000]
#          [--seconds 10] [--publishes 10] [--pointcast-bin PATH] [--out FILE]
#          [--ladder "2000 5000 10000 20000 40000"] [--ladder-users 2000]
#          [--ladder-publishers "32 256"]
#          [--pg-url postgres://USER@HOST:PORT/DB] [--after-request]
#          [--db-dir DIR]
#
# --ladder: a publish-rate ladder, each rate on a fresh server for --ladder-secs
# (5) with 32 publishers: announcements on both servers, grants on pointcast
# (and on PostgreSQL with --pg-url, a fresh database per rate made through that
# URL's server; give it fsync on). Each publisher sends its next publish only
# once the last one is answered, so 32 of them reach at most 32 publishes per
# publish latency: --ladder-publishers runs the ladder once per count given, and
# a count other than 32 is its own row ("N publishers"), where a server's rate
# is bound by its CPU rather than by how soon it answers.
# --after-request: the idle and fanout scenarios run a second time with streams
# opened after a `GET /healthz` on the same connection (a browser after a page,
# nginx's keep-alive pool).
# --db-dir: where pointcast's SQLite databases go (default: a temporary
# directory beside the script's other files). `--db-dir /dev/shm --only
# pointcast` runs the same server with syncs that cost nothing (tmpfs): the
# difference from a run on the disk is what the disk's WAL syncs cost.
#
# Every scenario runs --repeat times per server, the servers taking turns (each
# started afresh per round, alone on its core), and the table shows medians. Unicast runs durable announcements at each of --rates
# on both servers, then mileage grants at --grant-rate on pointcast (0: none).
# --pointcast-bin uses an already built server instead of `cargo build --release`
# at the repository root. If the root does not build, pointcast runs are skipped
# and only nchan is measured.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PC_PORT=${PC_PORT:-18080}
NCHAN_PORT=${NCHAN_PORT:-18081}
ADMIN_TOKEN=${POINTCAST_ADMIN_TOKEN:-bench-admin-$$-$RANDOM}

IDLE="1000 10000"
FANOUT="1000 10000"
POLL_FANOUT="1000"
UNICAST="10000"
RATES="1000 5000"
GRANT_RATE=1000
REPEAT=3
SECONDS_=10
PUBLISHES=10
INTERVAL_MS=1000
HOLD=5
ONLY=""
PC_BIN=""
OUT=""
LADDER=""
LADDER_USERS=2000
LADDER_SECS=5
LADDER_PUBLISHERS=32
PG_URL=""
AFTER_REQUEST=0
DB_DIR=""

while [ $# -gt 0 ]; do
  case "$1" in
    --quick)
      IDLE="1000"; FANOUT="1000"; POLL_FANOUT="200"; UNICAST="1000"
      RATES=200; GRANT_RATE=200; REPEAT=1; SECONDS_=3; PUBLISHES=3; INTERVAL_MS=500; HOLD=2 ;;
    --only) ONLY=$2; shift ;;
    --idle) IDLE=$2; shift ;;
    --fanout) FANOUT=$2; shift ;;
    --poll-fanout) POLL_FANOUT=$2; shift ;;
    --unicast) UNICAST=$2; shift ;;
    --rates|--rate) RATES=$2; shift ;;
    --grant-rate) GRANT_RATE=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --seconds) SECONDS_=$2; shift ;;
    --publishes) PUBLISHES=$2; shift ;;
    --pointcast-bin) PC_BIN=$2; shift ;;
    --out) OUT=$2; shift ;;
    --ladder) LADDER=$2; shift ;;
    --ladder-users) LADDER_USERS=$2; shift ;;
    --ladder-secs) LADDER_SECS=$2; shift ;;
    --ladder-publishers) LADDER_PUBLISHERS=$2; shift ;;
    --pg-url) PG_URL=$2; shift ;;
    --after-request) AFTER_REQUEST=1 ;;
    --db-dir) DB_DIR=$2; shift ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
  esac
  shift
done

# The databases get a directory of their own inside --db-dir, made before the
# exit trap: `cleanup` removes $DB_DIR, which must never be the directory given.
if [ -n "$DB_DIR" ]; then
  [ -d "$DB_DIR" ] || { echo "--db-dir: $DB_DIR is not a directory" >&2; exit 64; }
  DB_DIR=$(mktemp -d "$DB_DIR/pointcast-bench.XXXXXX")
fi
TMP=$(mktemp -d /tmp/pointcast-bench.XXXXXX)
DB_DIR=${DB_DIR:-$TMP}
OUT=${OUT:-$ROOT/bench/target/results-$(date +%Y%m%d-%H%M%S).txt}
PC_PID=""
NGINX_PID=""

cleanup() {
  set +e
  [ -n "$PC_PID" ] && kill "$PC_PID" 2>/dev/null && wait "$PC_PID" 2>/dev/null
  [ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  rm -rf "$TMP" "$DB_DIR"
}
trap cleanup EXIT
# Stopped: clean up and stop (a handler that returns would let the loop go on).
trap 'exit 130' INT TERM

# Every connection is a descriptor, on both sides.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"

wait_http() { # url, seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

echo "== building the load generator"
cargo build --release --quiet --manifest-path "$ROOT/bench/Cargo.toml"
BENCH="$ROOT/bench/target/release/pointcast-bench"

want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

TARGETS=()
if want pointcast; then
  if [ -z "$PC_BIN" ]; then
    echo "== building pointcast (release)"
    if (cd "$ROOT" && cargo build --release --quiet); then
      PC_BIN="$ROOT/target/release/pointcast"
    else
      echo "!! pointcast does not build yet: measuring nchan only" >&2
    fi
  fi
  [ -n "$PC_BIN" ] && TARGETS+=(pointcast)
fi

# Each round starts every server afresh (pointcast on a new database), and each
# idle run gets a server of its own, so memory per connection is measured from a
# cold process every time, not from a heap that an earlier run already grew.
start_pointcast() { # round [database url]
  echo "== starting pointcast on 127.0.0.1:$PC_PORT (core 0)"
  # --max-streams: anonymous readers are capped per address (16 by default);
  # the load generator's thousands of readers come from a handful of addresses.
  # RUST_LOG=warn: no line per request, as nginx runs with access_log off.
  RUST_LOG=warn POINTCAST_ADMIN_TOKEN=$ADMIN_TOKEN taskset -c 0 "$PC_BIN" serve \
    --listen "127.0.0.1:$PC_PORT" --database-url "${2:-sqlite://$DB_DIR/bench-$1.db}" \
    --bench-endpoints --max-streams 1000000 --max-anonymous-streams 1000000 >>"$TMP/pointcast.log" 2>&1 &
  PC_PID=$!
  wait_http "http://127.0.0.1:$PC_PORT/healthz" 30
}

stop_pointcast() {
  kill "$PC_PID" 2>/dev/null && wait "$PC_PID" 2>/dev/null || true
  PC_PID=""
}

if want nchan; then
  if [ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
    echo "== installing nginx and nchan"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-nchan >/dev/null
  fi
  mkdir -p "$TMP/nginx"
  cat >"$TMP/nginx/nginx.conf" <<EOF
# One worker, memory store: the fair counterpart of one pointcast process.
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
daemon off;
worker_processes 1;
worker_rlimit_nofile 1048576;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 200000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  nchan_max_reserved_memory 512M;
  server {
    listen 127.0.0.1:$NCHAN_PORT backlog=4096;
    location = /healthz { return 200 "ok"; }
    location ~ ^/pub/(\w+)\$ {
      nchan_publisher;
      nchan_channel_id \$1;
      nchan_message_buffer_length 50;
      nchan_message_timeout 120s;
    }
    # EventSource when the client sends Accept: text/event-stream, else long-poll
    # (next message asked for with If-Modified-Since / If-None-Match).
    location ~ ^/sub/(\w+)\$ {
      nchan_subscriber eventsource longpoll;
      nchan_channel_id \$1;
      nchan_subscriber_first_message newest;
      nchan_subscriber_timeout 25s; # like pointcast's long-poll timeout=25
      nchan_eventsource_ping_interval 15;
    }
  }
}
EOF
  TARGETS+=(nchan)
fi

start_nchan() {
  echo "== starting nginx+nchan on 127.0.0.1:$NCHAN_PORT (core 0)"
  taskset -c 0 nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" &
  NGINX_PID=$!
  wait_http "http://127.0.0.1:$NCHAN_PORT/healthz" 10
}

stop_nchan() {
  kill -QUIT "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
}

[ ${#TARGETS[@]} -gt 0 ] || { echo "nothing to measure" >&2; exit 1; }

server_args() { # target -> args for the load generator
  case "$1" in
    pointcast) echo "--target pointcast --url http://127.0.0.1:$PC_PORT --server-pid $PC_PID --admin-token $ADMIN_TOKEN" ;;
    nchan)
      local worker
      worker=$(pgrep -P "$NGINX_PID" | head -1)
      echo "--target nchan --url http://127.0.0.1:$NCHAN_PORT --server-pid $worker" ;;
  esac
}

server_pid() { # target -> the pid holding its connections
  case "$1" in
    pointcast) echo "$PC_PID" ;;
    nchan) pgrep -P "$NGINX_PID" | head -1 ;;
  esac
}

# Waits (at most 40 s) until the server has let go of the last run's sockets. A
# server notices a client that reset its connection only when it next writes to
# it (pointcast: at the next heartbeat, 15 s), and with the open-file limit a
# container allows, the leftovers of a 10k run plus the next 10k run can exceed it.
wait_released() { # target
  local pid fds
  pid=$(server_pid "$1")
  for _ in $(seq 1 80); do
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    [ "$fds" -lt 200 ] && return 0
    sleep 0.5
  done
  echo "   (server still holds $fds descriptors)"
}

run() { # target, scenario args...
  local t=$1; shift
  echo "-- $t: $*"
  # shellcheck disable=SC2046
  taskset -c 1 "$BENCH" "$@" $(server_args "$t") 2>&1 | tee -a "$OUT" | sed 's/^/   /' || true
  wait_released "$t"
}

: >"$OUT"
for round in $(seq 1 "$REPEAT"); do
  echo "== round $round of $REPEAT"
  for t in "${TARGETS[@]}"; do
    # Idle memory: a fresh server per size, as a heap that an earlier run grew
    # hides the next run's growth (neither server gives its peak back).
    for n in $IDLE; do
      "start_$t" "$round-i$n"; run "$t" idle "$n" --hold-secs "$HOLD"; "stop_$t"
    done
    if [ "$AFTER_REQUEST" = 1 ]; then
      for n in $IDLE; do
        "start_$t" "$round-k$n"; run "$t" idle "$n" --hold-secs "$HOLD" --after-request; "stop_$t"
      done
    fi
    "start_$t" "$round"
    for n in $FANOUT; do run "$t" fanout "$n" --publishes "$PUBLISHES" --interval-ms "$INTERVAL_MS"; done
    if [ "$AFTER_REQUEST" = 1 ]; then
      for n in $FANOUT; do run "$t" fanout "$n" --publishes "$PUBLISHES" --interval-ms "$INTERVAL_MS" --after-request; done
    fi
    for n in $POLL_FANOUT; do run "$t" fanout "$n" --transport poll --publishes "$PUBLISHES" --interval-ms "$INTERVAL_MS"; done
    for n in $UNICAST; do
      for r in $RATES; do run "$t" unicast "$n" --rate "$r" --seconds "$SECONDS_" --publish announce; done
      if [ "$t" = pointcast ] && [ "$GRANT_RATE" -gt 0 ]; then
        run "$t" unicast "$n" --rate "$GRANT_RATE" --seconds "$SECONDS_" --publish grant
      fi
    done
    "stop_$t"
  done
  # The ladder: a fresh server per rate, as a publish rate is measured best
  # from a cold start (no backlog of the rate before).
  for pubs in $LADDER_PUBLISHERS; do
    # 32 publishers are the ladder's rows; any other count is a row of its own.
    label=(); pglabel=postgres
    if [ "$pubs" != 32 ]; then label=(--label "$pubs publishers"); pglabel="postgres, $pubs publishers"; fi
    for r in $LADDER; do
      ladder=(unicast "$LADDER_USERS" --rate "$r" --seconds "$LADDER_SECS" --publishers "$pubs")
      for t in "${TARGETS[@]}"; do
        "start_$t" "$round-a$r-$pubs"; run "$t" "${ladder[@]}" --publish announce "${label[@]}"; "stop_$t"
        if [ "$t" = pointcast ]; then
          start_pointcast "$round-g$r-$pubs"; run "$t" "${ladder[@]}" --publish grant "${label[@]}"; stop_pointcast
          if [ -n "$PG_URL" ]; then
            db="pcbench_$$_${round}_${r}_$pubs"
            psql -q "$PG_URL" -c "CREATE DATABASE $db"
            start_pointcast "$round-p$r-$pubs" "${PG_URL%/*}/$db"
            run "$t" "${ladder[@]}" --publish grant --label "$pglabel"
            stop_pointcast
            psql -q "$PG_URL" -c "DROP DATABASE $db" || true
          fi
        fi
      done
    done
  done
done

echo
echo "## pointcast vs nchan ($(nproc) cores; servers on core 0, load on core 1; $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo
"$BENCH" table "$OUT"
echo
echo "raw results: $OUT"
