#!/usr/bin/env bash
# Issue 3's speed check: the iris forest pickle served by ServeML's Python runtime against the
# FastAPI + uvicorn peer (../shared/bench/peer_fastapi.py), same wrk load, same run, A/B rounds
# alternated, medians printed with the ratio. Loopback only; about 2 minutes. BATCH=16 turns on
# dynamic batching (issue 5 and 7 targets); the default 1 is issue 3's unbatched comparison.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need wrk wrk
rounds=${ROUNDS:-3}; seconds=${SECONDS_PER_ROUND:-10}; conns=${CONNECTIONS:-16}
fixtures
start_serveml 18080 SERVEML_AUTH=off SERVEML_CACHE=off SERVEML_PYTHON_WORKERS="${WORKERS:-2}" SERVEML_PYTHON_IDLE_TIMEOUT=0 \
  SERVEML_MAX_BATCH_SIZE="${BATCH:-1}" SERVEML_MAX_QUEUE_DELAY="${DELAY:-2ms}"
curl -sf -F file=@"$out/iris_rf.pkl" http://127.0.0.1:18080/api/v1/models/iris/versions >/dev/null
start_peer 18000 1
a=http://127.0.0.1:18080/api/v1/models/iris/predict; b=http://127.0.0.1:18000/predict
wrk_run "$a" "$conns" 3 >/dev/null; wrk_run "$b" "$conns" 3 >/dev/null   # warm-up
: > "$out/python_runtime.a"; : > "$out/python_runtime.b"
for r in $(seq 1 "$rounds"); do
  wrk_run "$a" "$conns" "$seconds" >> "$out/python_runtime.a"
  wrk_run "$b" "$conns" "$seconds" >> "$out/python_runtime.b"
done
printf '%-34s %10s %9s %9s\n' "iris pickle, wrk -t1 -c$conns" "req/s" "p50 ms" "p99 ms"
for side in a b; do
  name=$([ $side = a ] && echo "ServeML python runtime (${WORKERS:-2} workers)" || echo "FastAPI peer (1 worker)")
  printf '%-34s %10.0f %9.2f %9.2f\n' "$name" "$(cut -d' ' -f1 "$out/python_runtime.$side" | median)" \
    "$(cut -d' ' -f2 "$out/python_runtime.$side" | median)" "$(cut -d' ' -f3 "$out/python_runtime.$side" | median)"
done
ra=$(cut -d' ' -f1 "$out/python_runtime.a" | median); rb=$(cut -d' ' -f1 "$out/python_runtime.b" | median)
awk -v a="$ra" -v b="$rb" 'BEGIN { printf "throughput ratio ServeML/peer: %.2fx (target >= 2x)\n", a/b }'
echo "machine: $(nproc) cores, $(java -version 2>&1 | head -1), rounds=$rounds x ${seconds}s"
