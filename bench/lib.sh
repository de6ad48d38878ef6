# Shared helpers for the benchmark scripts: start/stop servers, run wrk, read its figures.
# Loopback only; every run is bounded by wrk's duration.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$bench_root/.." && pwd)
source "$repo_root/scripts/env.sh"
shared="${SERVEML_SHARED:-$repo_root/../shared}"
out="${BENCH_OUT:-$bench_root/out}"
mkdir -p "$out"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { echo "benchmark needs $1 (apt-get install $2)" >&2; exit 1; }; }

wait_http() { # url, seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; return 1
}

fixtures() {
  [ -f "$out/iris_rf.pkl" ] || /usr/bin/python3 "$shared/bench/make_fixtures.py" "$out" >/dev/null
}

start_serveml() { # port, extra env assignments...
  local port=$1; shift
  (cd "$repo_root" && [ -f server/target/serveml.jar ] || mvn -B -q -DskipTests package)
  rm -rf "$out/serveml-data-$port"
  env SERVEML_DATA_DIR="$out/serveml-data-$port" SERVEML_HTTP_PORT="$port" SERVEML_HTTP_HOST=127.0.0.1 "$@" \
    java --enable-native-access=ALL-UNNAMED -Xmx512m -jar "$repo_root/server/target/serveml.jar" \
    > "$out/serveml-$port.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$port/health/ready" 60
}

start_peer() { # port, workers
  # exec: the recorded pid is uvicorn's own, so the cleanup stops it (not just a subshell around it)
  (cd "$shared/bench" && MODEL="$out/iris_rf.pkl" exec /usr/bin/python3 -m uvicorn peer_fastapi:app \
     --host 127.0.0.1 --port "$1" --workers "$2" --log-level warning) > "$out/peer-$1.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$1/health" 60
}

# wrk_run url connections seconds [lua script] -> prints "req_per_s p50_ms p99_ms errors"
wrk_run() {
  local text
  local header=()
  [ -n "${WRK_HEADER:-}" ] && header=(-H "$WRK_HEADER")
  text=$(wrk -t1 -c"$2" -d"$3"s --latency "${header[@]}" -s "${4:-$shared/bench/iris.lua}" "$1")
  local rps p50 p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$text")
  p50=$(awk '$1=="50%" {print $2}' <<<"$text")
  p99=$(awk '$1=="99%" {print $2}' <<<"$text")
  errs=$(awk '/Non-2xx/ {print $5} /Socket errors/ {s=$0} END {}' <<<"$text")
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") ${errs:-0}"
}

to_ms() { # wrk prints 1.23ms / 456.00us / 1.20s
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
