#!/usr/bin/env bash
# Issue 7's harness: every scenario in one run, loopback only, bounded in time (~8 minutes with
# the defaults). Starts the FastAPI peer (1 and 2 workers), ServeML (auth on with an API key,
# rate limits and metrics on), ServeML with the Python runtime and batching, and the bare
# Vert.x + ONNX Runtime server; warms each up; runs ROUNDS rounds in which every scenario gets
# the same wrk command once (so A and B rounds alternate); then bench/report.py prints medians,
# ratios and targets, and writes out/results.json and out/chart.svg.
# mlp_wide.onnx is deployed twice on the Python server (dynamic batching off and on) and driven
# at 64 connections; the resources phase also loads 50 small ONNX models and reads the RSS added.
# Knobs: ROUNDS (3), SECONDS_PER_ROUND (8), CONNECTIONS (16), WARMUP_SECONDS (3); TEXT_BENCH=off skips
# the text-classification part (bench/text.sh) run at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk wrk; need curl curl
rounds=${ROUNDS:-3}; seconds=${SECONDS_PER_ROUND:-8}; conns=${CONNECTIONS:-16}; warm=${WARMUP_SECONDS:-3}
java_flags=(--enable-native-access=ALL-UNNAMED -Xmx512m)
hz=$(getconf CLK_TCK)
fixtures
(cd "$repo_root" && [ -f server/target/serveml.jar ] || mvn -B -q -DskipTests package)
: > "$out/rounds.tsv"

stop_postgres() { # embedded PostgreSQL of our data dirs, should a server not have stopped it
  local d p; for d in data-res data-main data-py; do
    p=$(pgrep -f -- "-D $out/$d/postgres/data" | head -1 || true); [ -n "$p" ] && kill -INT "$p" 2>/dev/null
  done; true; }
stop_all() { # TERM every server started here, give them 15 s, then KILL the ones left; by pid only
  set +e  # under set -e the first already-gone pid would end the trap and leave the rest running
  local p all=(); for p in "${pids[@]}"; do all+=($(tree "$p")); done
  for p in "${all[@]}"; do kill "$p" 2>/dev/null; done
  for _ in $(seq 1 150); do
    local alive=0; for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.1
  done
  for p in "${all[@]}"; do kill -9 "$p" 2>/dev/null; done
  stop_postgres; }
trap stop_all EXIT
for port in 18001 18002 18080 18081 18083 18090; do
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "port $port is taken: stop what runs there" >&2; exit 1; }
done
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
tree() { local p; echo "$1"; for p in $(pgrep -P "$1" 2>/dev/null); do tree "$p"; done; }
cpu_ticks() { local t=0 p; for p in $(tree "$1"); do
  t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) )); done; echo "$t"; }
rss_mb() { local k=0 p; for p in $(tree "$1"); do
  k=$(( k + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0) )); done; echo $(( k / 1024 )); }
wait_ready() { # url -> waits up to 120 s, polling every 20 ms
  for _ in $(seq 1 6000); do curl -sf -o /dev/null "$1" && return 0; sleep 0.02; done
  echo "no answer from $1" >&2; return 1; }

serveml_up() { # port datadir extra-env... ; sets $serveml_pid, prints nothing
  local port=$1 dir=$2; shift 2
  env SERVEML_DATA_DIR="$dir" SERVEML_HTTP_PORT="$port" SERVEML_HTTP_HOST=127.0.0.1 "$@" \
    java "${java_flags[@]}" -jar "$repo_root/server/target/serveml.jar" >> "$out/serveml-$port.log" 2>&1 &
  serveml_pid=$!; pids+=("$serveml_pid")
}

# --- resources: RSS after start-up, upload to first prediction, restart on an existing data dir
rm -rf "$out/data-res"; : > "$out/serveml-18083.log"
serveml_up 18083 "$out/data-res" SERVEML_AUTH=off
t0=$(now_ms); wait_ready http://127.0.0.1:18083/health/ready; first_start=$(( $(now_ms) - t0 ))
sleep 2; rss_start=$(( $(rss_mb "$serveml_pid") + $(rss_mb "$(pgrep -f -- "-D $out/data-res/postgres" | head -1)") ))
rss_jvm=$(( $(awk '/^VmRSS/ {print $2}' "/proc/$serveml_pid/status") / 1024 ))
t0=$(now_ms)
curl -sf -F file=@"$out/iris_rf.onnx" http://127.0.0.1:18083/api/v1/models/iris/versions >/dev/null
curl -sf -H 'Content-Type: application/json' -d '{"features":[5.9,3.2,4.8,1.8]}' \
  http://127.0.0.1:18083/api/v1/models/iris/predict >/dev/null
upload_first=$(( $(now_ms) - t0 ))
# 50 small ONNX models (the iris forest under 50 names: each load is its own session) loaded, then
# each called once; the JVM's RSS before and after (heap growth from the uploads counts too).
sleep 1; rss_before_50=$(( $(awk '/^VmRSS/ {print $2}' "/proc/$serveml_pid/status") / 1024 ))
for i in $(seq -w 1 50); do
  curl -sf -F file=@"$out/iris_rf.onnx" "http://127.0.0.1:18083/api/v1/models/small-$i/versions" >/dev/null
  curl -sf -H 'Content-Type: application/json' -d '{"features":[5.9,3.2,4.8,1.8]}' \
    "http://127.0.0.1:18083/api/v1/models/small-$i/predict" >/dev/null
done
loaded=$(curl -sf http://127.0.0.1:18083/metrics | awk '/^serveml_models_loaded / {print $2}')
sleep 2; rss_after_50=$(( $(awk '/^VmRSS/ {print $2}' "/proc/$serveml_pid/status") / 1024 ))
kill "$serveml_pid"; wait "$serveml_pid" 2>/dev/null || true
serveml_up 18083 "$out/data-res" SERVEML_AUTH=off
t0=$(now_ms); wait_ready http://127.0.0.1:18083/health/ready; restart=$(( $(now_ms) - t0 ))
kill "$serveml_pid"; wait "$serveml_pid" 2>/dev/null || true
printf '{"rss_after_start_mb": %s, "rss_after_start_jvm_mb": %s, "first_start_ms": %s, "restart_ready_ms": %s, "upload_to_first_prediction_ms": %s, "rss_50_models_added_mb": %s, "models_loaded": %s}\n' \
  "$rss_start" "$rss_jvm" "$first_start" "$restart" "$upload_first" "$(( rss_after_50 - rss_before_50 ))" \
  "${loaded%.*}" > "$out/resources.json"
echo "resources: $(cat "$out/resources.json")"

# --- the servers under load
rm -rf "$out/data-main" "$out/data-py"; : > "$out/serveml-18080.log"; : > "$out/serveml-18081.log"
serveml_up 18080 "$out/data-main" SERVEML_ADMIN_PASSWORD=bench-admin-password SERVEML_RATE_LIMIT=100000000
main_pid=$serveml_pid
serveml_up 18081 "$out/data-py" SERVEML_AUTH=off SERVEML_RATE_LIMIT=100000000 SERVEML_PYTHON_WORKERS=2 SERVEML_PYTHON_IDLE_TIMEOUT=0 \
  SERVEML_MAX_BATCH_SIZE=32 SERVEML_MAX_QUEUE_DELAY=2ms SERVEML_CACHE=off
py_pid=$serveml_pid
java "${java_flags[@]}" -cp "$repo_root/server/target/serveml.jar" "$bench_root/bare/BareServer.java" \
  "$out/iris_rf.onnx" 18090 > "$out/bare.log" 2>&1 &
bare_pid=$!; pids+=("$bare_pid")
start_peer 18001 1; peer1_pid=${pids[-1]}
start_peer 18002 2; peer2_pid=${pids[-1]}
wait_ready http://127.0.0.1:18080/health/ready; wait_ready http://127.0.0.1:18081/health/ready
for _ in $(seq 1 600); do curl -sf -o /dev/null -d '{"features":[5.9,3.2,4.8,1.8]}' http://127.0.0.1:18090/ && break; sleep 0.1; done

token=$(curl -sf -H 'Content-Type: application/json' -d '{"username":"admin","password":"bench-admin-password"}' \
  http://127.0.0.1:18080/api/v1/auth/login | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
key=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"bench","scopes":["predict","models:write"]}' http://127.0.0.1:18080/api/v1/api-keys \
  | sed -E 's/.*"key":"([^"]+)".*/\1/')
auth="Authorization: Bearer $key"
for m in iris iris_cached; do
  curl -sf -H "$auth" -F file=@"$out/iris_rf.onnx" http://127.0.0.1:18080/api/v1/models/$m/versions >/dev/null
done
# The route scenarios measure the model path: identical wrk bodies must not be answered from the cache.
curl -sf -X PATCH -H "$auth" -H 'Content-Type: application/json' -d '{"cache": {"enabled": false}}' \
  http://127.0.0.1:18080/api/v1/models/iris >/dev/null
curl -sf -F file=@"$out/iris_rf.pkl" http://127.0.0.1:18081/api/v1/models/iris/versions >/dev/null
# mlp_wide.onnx twice, deployed with dynamic batching off and on (per-deployment config)
for side in off:1 on:64; do
  curl -sf -F file=@"$out/mlp_wide.onnx" "http://127.0.0.1:18081/api/v1/models/mlp_${side%%:*}/versions" >/dev/null
  curl -sf -H 'Content-Type: application/json' -d "{\"name\": \"mlp-${side%%:*}\", \"model\": \"mlp_${side%%:*}\",
    \"policy\": {\"versions\": [{\"version\": 1, \"weight\": 100}]},
    \"config\": {\"max_batch_size\": ${side##*:}, \"max_queue_delay\": \"2ms\"}}" \
    http://127.0.0.1:18081/api/v1/deployments >/dev/null
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:18081/api/v1/deployments/mlp-${side%%:*}" | grep -q '"status":"active"' && break; sleep 0.1
  done
done

# name | url | wrk script | header | pid of the server (its process tree is measured) | connections (default $conns)
scenarios=(
  "peer_1w|http://127.0.0.1:18001/predict|$shared/bench/iris.lua||$peer1_pid"
  "native|http://127.0.0.1:18080/api/v1/models/iris/predict|$shared/bench/iris.lua|$auth|$main_pid"
  "v2_json|http://127.0.0.1:18080/v2/models/iris/infer|$bench_root/v2_json.lua|$auth|$main_pid"
  "v2_binary|http://127.0.0.1:18080/v2/models/iris/infer|$bench_root/v2_binary.lua|$auth|$main_pid"
  "bare|http://127.0.0.1:18090/|$shared/bench/iris.lua||$bare_pid"
  "python_batched|http://127.0.0.1:18081/api/v1/models/iris/predict|$shared/bench/iris.lua||$py_pid"
  "cache_hit|http://127.0.0.1:18080/api/v1/models/iris_cached/predict|$shared/bench/iris.lua|$auth|$main_pid"
  "cache_miss|http://127.0.0.1:18080/api/v1/models/iris_cached/predict|$bench_root/iris_vary.lua|$auth|$main_pid"
  "peer_2w|http://127.0.0.1:18002/predict|$shared/bench/iris.lua||$peer2_pid"
  "mlp_off|http://127.0.0.1:18081/api/v1/deployments/mlp-off/predict|$bench_root/mlp_wide.lua||$py_pid|64"
  "mlp_on|http://127.0.0.1:18081/api/v1/deployments/mlp-on/predict|$bench_root/mlp_wide.lua||$py_pid|64"
)

measure() { # scenario-line seconds -> wrk text in $wrk_text, cpu % in $cpu
  local name url lua header pid c c0 c1
  IFS='|' read -r name url lua header pid c <<<"$1"
  local h=(); [ -n "$header" ] && h=(-H "$header")
  c0=$(cpu_ticks "$pid")
  wrk_text=$(wrk -t1 -c"${c:-$conns}" -d"$2"s --latency "${h[@]}" -s "$lua" "$url")
  c1=$(cpu_ticks "$pid")
  cpu=$(awk -v d=$(( c1 - c0 )) -v hz="$hz" -v s="$2" 'BEGIN { printf "%.0f", 100 * d / hz / s }')
}

for s in "${scenarios[@]}"; do measure "$s" "$warm"; done   # warm-up
for r in $(seq 1 "$rounds"); do
  for s in "${scenarios[@]}"; do
    measure "$s" "$seconds"
    IFS='|' read -r name _ _ _ pid _ <<<"$s"
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$wrk_text")
    p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$wrk_text")")
    p90=$(to_ms "$(awk '$1=="90%" {print $2}' <<<"$wrk_text")")
    p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$wrk_text")")
    errs=$(awk '/Non-2xx/ {n+=$5} /Socket errors/ {gsub(",",""); n+=$4+$6+$8+$10} END {print n+0}' <<<"$wrk_text")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$r" "$rps" "$p50" "$p90" "$p99" "$errs" "$cpu" \
      "$(rss_mb "$pid")" | tee -a "$out/rounds.tsv"
  done
done

cat > "$out/machine.json" <<JSON
{"cores": $(nproc), "cpu": "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)",
 "kernel": "$(uname -r)", "jdk": "$(java -version 2>&1 | head -1 | tr -d '"')",
 "jvm_flags": "${java_flags[*]}", "commit": "$(git -C "$repo_root" rev-parse --short HEAD)",
 "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "wrk": "wrk -t1 -c$conns -d${seconds}s --latency, $rounds rounds, ${warm}s warm-up, loopback, wrk on the same cores"}
JSON
/usr/bin/python3 "$bench_root/report.py" "$out"

# Issue 14's text-classification figures (bench/text.sh, its own servers, ~9 minutes), once the
# servers above are stopped so that they do not share the cores; TEXT_BENCH=off skips it.
if [ "${TEXT_BENCH:-on}" != off ]; then
  stop_all; trap - EXIT
  "$bench_root/text.sh"
fi
